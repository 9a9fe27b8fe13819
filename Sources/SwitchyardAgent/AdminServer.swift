import Foundation
import Logging
import NIOCore
import NIOPosix
import SwitchyardControl
import SwitchyardCore
import SwitchyardNet

/// The admin API: a unix socket (mode 0600, root only). A client writes one command line —
/// `status`, `reload`, `drain` or `undrain` — and reads one JSON document back (the status
/// after the command).
struct AdminServer {
    let agent: Agent
    let path: String
    let logger: Logger

    func run() async throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try await ConnectionServer.run(
            .unix(path: path),
            ready: { [path, logger] in
                chmod(path, 0o600)
                logger.info("admin API listening", metadata: ["socket": "\(path)"])
            }, handler: serve)
    }

    @Sendable private func serve(_ connection: ConnectionServer.Connection) async throws {
        try await connection.executeThenClose { inbound, outbound in
            let request = try await ConnectionServer.readRequest(inbound, until: "\n", limit: 4096)
            let command = request.trimmingCharacters(in: .whitespacesAndNewlines)
            let body: Data
            switch command {
            case "status":
                body = try JSONEncoder().encode(try await agent.status())
            case "reload":
                await agent.reload(trigger: "admin API")
                body = try JSONEncoder().encode(try await agent.status())
            case "drain":
                await agent.drain(trigger: "admin API")
                body = try JSONEncoder().encode(try await agent.status())
            case "undrain":
                await agent.undrain(trigger: "admin API")
                body = try JSONEncoder().encode(try await agent.status())
            default:
                let expected = "expected status, reload, drain or undrain"
                body = Data("{\"error\":\"unknown command '\(command)'; \(expected)\"}".utf8)
            }
            try await outbound.write(ByteBuffer(bytes: body))
        }
    }
}

/// Prometheus scrapes: a minimal HTTP/1.1 responder for GET /metrics.
struct MetricsServer {
    let agent: Agent
    let address: String
    let logger: Logger

    func run() async throws {
        let endpoint = try HostPort(parsing: address)
        try await ConnectionServer.run(
            .tcp(host: endpoint.host.description, port: Int(endpoint.port)),
            ready: { [address, logger] in
                logger.info("metrics listening", metadata: ["address": "\(address)"])
            }, handler: serve)
    }

    @Sendable private func serve(_ connection: ConnectionServer.Connection) async throws {
        try await connection.executeThenClose { inbound, outbound in
            let request = try await ConnectionServer.readRequest(inbound, until: "\r\n\r\n", limit: 8192)
            let path = request.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            let (status, type, body): (String, String, [UInt8])
            if path == "/metrics" {
                (status, type, body) = ("200 OK", "text/plain; version=0.0.4", try await agent.metricsText())
            } else {
                (status, type, body) = ("404 Not Found", "text/plain", Array("try /metrics\n".utf8))
            }
            var response = ByteBuffer(
                string:
                    "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: "
                    + "\(body.count)\r\nConnection: close\r\n\r\n"
            )
            response.writeBytes(body)
            try await outbound.write(response)
        }
    }
}
