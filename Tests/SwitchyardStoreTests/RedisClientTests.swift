import Foundation
import Testing
@testable import SwitchyardStore

/// A real redis-server on loopback, started for the test and stopped after. It must not inherit
/// the test runner's descriptors above 2 (the runner waits for those to close, so an inherited
/// one hangs the run at exit): a shell closes them all before exec'ing the daemon.
final class RedisServer: @unchecked Sendable {
    let port: Int
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sy-redis-\(UUID().uuidString)")
    var pidFile: String { dir.appendingPathComponent("redis.pid").path }

    static var binary: String? {
        ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    init(password: String? = nil, port: Int = Int.random(in: 30000...50000)) throws {
        self.port = port
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let start = Process()
        start.executableURL = URL(fileURLWithPath: "/bin/bash")
        let arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "''", "--appendonly", "no", "--dir", dir.path,
                         "--daemonize", "yes", "--pidfile", pidFile, "--logfile", dir.appendingPathComponent("log").path]
            + (password.map { ["--requirepass", $0] } ?? [])
        start.arguments = ["-c", "for fd in /proc/$$/fd/*; do n=${fd##*/}; [ \"$n\" -gt 2 ] && eval \"exec $n>&-\"; done; exec \(Self.binary!) \(arguments.joined(separator: " "))"]
        start.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        start.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        start.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try start.run()
        start.waitUntilExit()
        for _ in 0..<100 {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = UInt16(port).bigEndian
            a.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
            close(s)
            if ok { return }
            usleep(20_000)
        }
    }

    func stop() {
        if let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            kill(pid, SIGKILL)
            for _ in 0..<100 where kill(pid, 0) == 0 { usleep(10_000) }
        }
        try? FileManager.default.removeItem(at: dir)
    }

    deinit { stop() }
}

@Suite(.enabled(if: RedisServer.binary != nil, "skipped: redis-server is not installed (scripts/install-deps.sh installs it)"), .serialized)
struct RedisClientTests {
    @Test func pipelinedCommandsAnswerInOrder() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        let client = try await RedisClient.connect(host: "127.0.0.1", port: server.port)
        let replies = try await client.send([["SET", "a", "1"], ["INCR", "a"], ["GET", "a"], ["GET", "missing"], ["BOGUS"]])
        #expect(replies[0] == .simple("OK"))
        #expect(replies[1] == .integer(2))
        #expect(replies[2].string == "2")
        #expect(replies[3] == .bulk(nil))
        if case .error(let e) = replies[4] { #expect(e.contains("unknown command")) } else { Issue.record("no error for BOGUS") }
        // A large batch in one write.
        let many = try await client.send((0..<5000).map { ["SET", "k\($0)", "v\($0)"] })
        #expect(many.allSatisfy { $0 == .simple("OK") })
        #expect(try await client.send([["DBSIZE"]]) == [.integer(5001)])
        client.close()
    }

    @Test func authWithPasswordAndRefusal() async throws {
        let server = try RedisServer(password: "s3cret")
        defer { server.stop() }
        let client = try await RedisClient.connect(host: "127.0.0.1", port: server.port, password: "s3cret")
        #expect(try await client.send([["PING"]]) == [.simple("PONG")])
        client.close()
        await #expect(throws: RedisClient.RedisError.self) {
            _ = try await RedisClient.connect(host: "127.0.0.1", port: server.port, password: "wrong")
        }
    }

    @Test func publishReachesSubscribers() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        let messages = try await RedisClient.subscribe(host: "127.0.0.1", port: server.port, channels: ["sy:test"])
        let client = try await RedisClient.connect(host: "127.0.0.1", port: server.port)
        var received: [String] = []
        for i in 0..<50 {
            _ = try await client.send([["PUBLISH", "sy:test", "m\(i)"]])
            if i == 0 { try await Task.sleep(for: .milliseconds(100)) } // let SUBSCRIBE land
        }
        reading: for try await batch in messages {
            for (channel, message) in batch {
                #expect(channel == "sy:test")
                received.append(message)
                if message == "m49" { break reading }
            }
        }
        #expect(received.last == "m49")
        // In publish order (m0 may precede the subscription).
        let numbers = received.compactMap { Int($0.dropFirst()) }
        #expect(numbers == numbers.sorted() && numbers.count >= 49)
        client.close()
    }

    @Test func aDeadServerFailsRequestsClearly() async throws {
        let server = try RedisServer()
        let client = try await RedisClient.connect(host: "127.0.0.1", port: server.port)
        server.stop()
        try await Task.sleep(for: .milliseconds(100))
        await #expect(throws: (any Error).self) { _ = try await client.send([["PING"]]) }
        await #expect(throws: (any Error).self) { _ = try await client.send([["PING"]]) }
        await #expect(throws: (any Error).self) { _ = try await RedisClient.connect(host: "127.0.0.1", port: server.port) }
    }
}
