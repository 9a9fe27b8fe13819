import Foundation
import Logging
import NIOCore
import SwitchyardCore
import SwitchyardNet

/// `/healthz` (the process is serving: probes of both the leader and the standbys), `/readyz`
/// (same) and `/metrics` (Prometheus text) on the `--metrics` address.
public struct ControllerHTTPServer: Sendable {
    let controller: Controller
    let address: String
    let logger: Logger

    public init(controller: Controller, address: String, logger: Logger) {
        self.controller = controller
        self.address = address
        self.logger = logger
    }

    public func run() async throws {
        let endpoint = try HostPort(parsing: address)
        try await ConnectionServer.run(
            .tcp(host: endpoint.host.description, port: Int(endpoint.port)),
            ready: { [address, logger] in
                logger.info("metrics and health listening", metadata: ["address": "\(address)"])
            },
            handler: serve)
    }

    @Sendable private func serve(_ connection: ConnectionServer.Connection) async throws {
        try await connection.executeThenClose { inbound, outbound in
            let request = try await ConnectionServer.readRequest(inbound, until: "\r\n\r\n", limit: 8192)
            let path = request.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            let (status, body): (String, String)
            switch path {
            case "/healthz", "/readyz", "/livez": (status, body) = ("200 OK", "ok\n")
            case "/metrics": (status, body) = ("200 OK", await controller.snapshot.prometheusText)
            default: (status, body) = ("404 Not Found", "try /metrics or /healthz\n")
            }
            let bytes = Array(body.utf8)
            var response = ByteBuffer(
                string: "HTTP/1.1 \(status)\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: "
                    + "\(bytes.count)\r\nConnection: close\r\n\r\n")
            response.writeBytes(bytes)
            try await outbound.write(response)
        }
    }
}
