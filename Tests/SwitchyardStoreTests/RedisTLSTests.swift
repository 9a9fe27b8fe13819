import Foundation
import SwitchyardCore
import Testing

@testable import SwitchyardStore

/// A certificate authority, a server certificate for 127.0.0.1 (IP subject alternative name) and
/// a client certificate, made with openssl in a temporary directory; and a second authority
/// that signed neither.
struct TestCertificates {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sy-tls-\(UUID().uuidString)")
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    static var openssl: String? {
        ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    init() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        let script = """
            set -e
            cd '\(dir.path)'
            openssl req -x509 \(key) -keyout ca.key -out ca.crt -days 2 -subj /CN=sy-test-ca
            openssl req -x509 \(key) -keyout other-ca.key -out other-ca.crt -days 2 -subj /CN=sy-other-ca
            openssl req \(key) -keyout server.key -out server.csr -subj /CN=sy-redis
            printf 'subjectAltName=IP:127.0.0.1,DNS:redis.sy.test\\nextendedKeyUsage=serverAuth\\n' > server.ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile server.ext -out server.crt
            printf 'subjectAltName=DNS:redis.sy.test\nextendedKeyUsage=serverAuth\n' > named.ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile named.ext -out named.crt
            openssl req \(key) -keyout client.key -out client.csr -subj /CN=sy-lb
            printf 'extendedKeyUsage=clientAuth\\n' > client.ext
            openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile client.ext -out client.crt
            echo 'not a certificate' > garbage.pem
            """
        let run = Process()
        run.executableURL = URL(fileURLWithPath: "/bin/bash")
        run.arguments = ["-c", script]
        run.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        run.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try run.run()
        run.waitUntilExit()
        guard run.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    /// A redis-server that speaks only TLS, with `certificate` (server.crt names 127.0.0.1 and
    /// redis.sy.test, named.crt only redis.sy.test).
    func server(requireClientCertificates: Bool, certificate: String = "server.crt") throws -> RedisServer {
        let port = Int.random(in: 30000...50000)
        return try RedisServer(
            port: port,
            options: [
                "--port", "0", "--tls-port", "\(port)", "--tls-cert-file", path(certificate),
                "--tls-key-file", path("server.key"), "--tls-ca-cert-file", path("ca.crt"),
                "--tls-auth-clients", requireClientCertificates ? "yes" : "no",
            ])
    }

    var client: FlowStoreTLS {
        FlowStoreTLS(caFile: path("ca.crt"), certificateFile: path("client.crt"), keyFile: path("client.key"))
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }
}

private func record(_ i: Int) -> FlowRecord {
    FlowRecord(
        service: "10.1.0.1:80/tcp",
        flow: FlowKey(
            source: .v4(IPv4Address(UInt32(0x0a00_0000 + i))), destination: .v4(IPv4Address(10, 1, 0, 1)),
            sourcePort: UInt16(1000 + i), destinationPort: 80, proto: 6),
        backend: "10.0.0.1:80", origin: "lb1")
}

/// Runs `body` with `store` running in a task group, as its owner would; closes it after.
@discardableResult
func whileRunning<T: Sendable>(_ store: some FlowStore, _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await store.run() }
        defer { group.cancelAll() }
        do {
            let result = try await body()
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }
}

@Suite(
    .enabled(
        if: RedisServer.binary != nil && TestCertificates.openssl != nil, "skipped: redis-server or openssl missing"),
    .serialized)
struct RedisTLSTests {
    static func settings(_ server: RedisServer, tls: FlowStoreTLS) -> FlowStoreSettings {
        FlowStoreSettings(kind: .redis, host: "127.0.0.1", port: server.port, tls: tls)
    }

    /// Writes, announcements, the snapshot and usage over TLS with a client certificate, the
    /// server's certificate verified against the test authority and its IP address.
    @Test func storeWorksOverTLS() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let server = try certificates.server(requireClientCertificates: true)
        defer { server.stop() }
        let settings = Self.settings(server, tls: certificates.client)
        let writer = try RedisFlowStore(settings: settings)
        let follower = try RedisFlowStore(settings: settings)
        try await whileRunning(writer) {
            try await follower.follow { announced in
                let result = try await writer.write([.put(record(1), seconds: 60, announce: true)])
                #expect(result.written == 1)
                var iterator = announced.makeAsyncIterator()
                let heard = try await iterator.next()
                #expect(heard?.map(\.flow) == [record(1).flow])
            }
            #expect(try await follower.snapshot().map(\.flow) == [record(1).flow])
            #expect(try await writer.usage().entries == 1)
        }
        // The name in the certificate, asked for by name while connecting to the address.
        var named = certificates.client
        named.serverName = "redis.sy.test"
        let byName = try RedisFlowStore(settings: Self.settings(server, tls: named))
        #expect(try await byName.snapshot().count == 1)
    }

    /// A server whose certificate another authority signed: refused, and the error says the
    /// certificate was not trusted.
    @Test func anUntrustedServerIsRefusedClearly() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let server = try certificates.server(requireClientCertificates: false)
        defer { server.stop() }
        var wrong = certificates.client
        wrong.caFile = certificates.path("other-ca.crt")
        let store = try RedisFlowStore(settings: Self.settings(server, tls: wrong))
        try await whileRunning(store) {
            await #expect {
                _ = try await store.write([.put(record(1), seconds: 60, announce: false)])
            } throws: { error in
                guard case .untrusted(let address, _, _) = error as? RedisTLSError else { return false }
                return address == server.address && "\(error)".contains("was not trusted")
            }
            await #expect { _ = try await store.snapshot() } throws: { "\($0)".contains("was not trusted") }
            await #expect { try await store.follow { _ in } } throws: { "\($0)".contains("was not trusted") }
        }
    }

    /// A certificate that names the server only by DNS name: accepted when asked for by that
    /// name, refused when asked for by address or by another name.
    @Test func theCertificateMustNameTheServer() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let server = try certificates.server(requireClientCertificates: false, certificate: "named.crt")
        defer { server.stop() }
        var named = certificates.client
        named.serverName = "redis.sy.test"
        #expect(try await RedisFlowStore(settings: Self.settings(server, tls: named)).snapshot().isEmpty)
        for name in [nil, "elsewhere.sy.test"] {
            var tls = certificates.client
            tls.serverName = name
            let misnamed = try RedisFlowStore(settings: Self.settings(server, tls: tls))
            await #expect { _ = try await misnamed.snapshot() } throws: { error in
                guard case .untrusted = error as? RedisTLSError else { return false }
                return "\(error)".contains(name ?? "127.0.0.1")
            }
        }
    }

    /// A server that requires a client certificate, and a client without one.
    @Test func aMissingClientCertificateFailsClearly() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let server = try certificates.server(requireClientCertificates: true)
        defer { server.stop() }
        let anonymous = FlowStoreTLS(caFile: certificates.path("ca.crt"))
        let store = try RedisFlowStore(settings: Self.settings(server, tls: anonymous))
        try await whileRunning(store) {
            await #expect {
                _ = try await store.write([.put(record(1), seconds: 60, announce: false)])
            } throws: { error in
                guard case .refusedByServer(let address, _) = error as? RedisTLSError else { return false }
                return address == server.address && "\(error)".contains("certificateFile and keyFile")
            }
        }
    }

    /// Files that cannot be used fail the store's creation, naming the file and what is wrong.
    @Test func unusableFilesAreNamed() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let settings = FlowStoreSettings(kind: .redis, host: "127.0.0.1", port: 6379)
        func failure(_ tls: FlowStoreTLS) -> String {
            var settings = settings
            settings.tls = tls
            do {
                _ = try RedisFlowStore(settings: settings)
                return "no error"
            } catch { return "\(error)" }
        }
        let missing = certificates.path("missing.crt")
        #expect(
            failure(FlowStoreTLS(caFile: missing))
                == "flow store TLS caFile \(missing) cannot be read: No such file or directory")
        #expect(failure(FlowStoreTLS(caFile: certificates.path("garbage.pem"))).contains("garbage.pem holds no"))
        #expect(
            failure(FlowStoreTLS(caFile: certificates.path("ca.crt"), certificateFile: certificates.path("client.crt")))
                .contains("keyFile is not set"))
        #expect(
            failure(
                FlowStoreTLS(
                    caFile: certificates.path("ca.crt"), certificateFile: certificates.path("client.crt"),
                    keyFile: certificates.path("garbage.pem"))
            ).contains("keyFile \(certificates.path("garbage.pem")) holds no unencrypted PEM private key"))
        #expect(failure(certificates.client) == "no error")
    }
}
