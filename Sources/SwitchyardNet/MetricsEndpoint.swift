import Logging
import NIOCore
import SwitchyardCore

/// `/metrics` (Prometheus text from `metrics`) and `/healthz`, `/readyz`, `/livez` (the process is serving)
/// over HTTP/1.1 on one address: the controller's and the endpoint agent's endpoint.
public struct MetricsEndpoint: Sendable {
    let address: String
    let logger: Logger
    let metrics: @Sendable () async -> String

    public init(address: String, logger: Logger, metrics: @escaping @Sendable () async -> String) {
        self.address = address
        self.logger = logger
        self.metrics = metrics
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
            case "/metrics": (status, body) = ("200 OK", await metrics())
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
