import Foundation
import SwitchyardDatapath

/// `--store-tls`: a throwaway CA and the certificates the lab's store speaks TLS with, made
/// with openssl in `<lab dir>/store/tls` (removed with the lab). One server certificate serves
/// every store process (Redis servers, cluster bus, replication, Sentinels): it names the
/// store's address and `serverName`, and it is also a client certificate, because cluster
/// nodes, replicas and Sentinels present it when they connect to each other. The agents get the
/// CA, a client certificate of their own (Redis asks for one: `tls-auth-clients yes` is its
/// default) and the name to expect.
struct LabStoreTLS: Sendable {
    let directory: String
    static let serverName = "store.switchyard.lab"

    var caFile: String { "\(directory)/ca.crt" }
    var serverCertificate: String { "\(directory)/server.crt" }
    var serverKey: String { "\(directory)/server.key" }
    var clientCertificate: String { "\(directory)/client.crt" }
    var clientKey: String { "\(directory)/client.key" }

    /// The openssl runs, in order: CA, then a key, a request and a CA-signed certificate for the
    /// server and for the client. EC P-256 keys: quick to make, and what a deployment would pick.
    func commands() -> [[String]] {
        let days = ["-days", "2"]
        var commands: [[String]] = [
            [
                "openssl", "req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-keyout", "\(directory)/ca.key", "-out", caFile,
                "-subj", "/CN=switchyard lab store CA", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ] + days
        ]
        for (name, subject, extensions) in [
            ("server", Self.serverName, "server.ext"), ("client", "switchyard-agent", "client.ext"),
        ] {
            commands.append([
                "openssl", "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).csr", "-subj", "/CN=\(subject)",
            ])
            commands.append(
                [
                    "openssl", "x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", caFile, "-CAkey",
                    "\(directory)/ca.key", "-CAcreateserial", "-out", "\(directory)/\(name).crt", "-extfile",
                    "\(directory)/\(extensions)",
                ] + days)
        }
        return commands
    }

    /// The X.509 extensions of the server and client certificates, by file name.
    func extensionFiles(host: String) -> [String: String] {
        [
            "server.ext": """
            subjectAltName=DNS:\(Self.serverName),IP:\(host)
            extendedKeyUsage=serverAuth,clientAuth
            keyUsage=critical,digitalSignature

            """,
            "client.ext": """
            extendedKeyUsage=clientAuth
            keyUsage=critical,digitalSignature

            """,
        ]
    }

    /// Writes the extension files and runs openssl; the keys are readable by their owner only.
    func make(host: String, run: ([String]) throws -> String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, text) in extensionFiles(host: host) {
            try text.write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
        }
        for command in commands() {
            do { _ = try run(command) } catch {
                throw NetworkNamespace.CommandError(
                    description: "--store-tls: openssl could not make the lab's certificates (\(error)); "
                        + "check that openssl 1.1.1 or later is installed")
            }
        }
        for key in ["ca.key", "server.key", "client.key"] { chmod("\(directory)/\(key)", 0o600) }
    }

    /// redis-server / redis-sentinel options: TLS only, on `port`.
    func serverArguments(port: Int, cluster: Bool) -> [String] {
        [
            "--port", "0", "--tls-port", "\(port)", "--tls-cert-file", serverCertificate, "--tls-key-file",
            serverKey, "--tls-ca-cert-file", caFile, "--tls-replication", "yes",
        ] + (cluster ? ["--tls-cluster", "yes"] : [])
    }

    /// redis-cli options to reach a TLS-only store, presenting the client certificate.
    var cliArguments: [String] {
        ["--tls", "--cacert", caFile, "--cert", clientCertificate, "--key", clientKey, "--sni", Self.serverName]
    }
}
