import Logging
import SwitchyardNet

/// `/healthz` (the process is serving: probes of both the leader and the standbys), `/readyz`
/// (same) and `/metrics` (Prometheus text) on the `--metrics` address.
public struct ControllerHTTPServer: Sendable {
    let endpoint: MetricsEndpoint

    public init(controller: Controller, address: String, logger: Logger) {
        endpoint = MetricsEndpoint(address: address, logger: logger) { await controller.snapshot.prometheusText }
    }

    public func run() async throws { try await endpoint.run() }
}
