import DatapathModel
import SwitchyardCore

/// What the datapath should hold: the config, with each backend's health folded in.
public enum DesiredState {
    /// The effective state of a backend: down if its health check says so, else as configured.
    public static func effectiveState(_ backend: Backend, health: HealthCheckStateMachine.Health?) -> BackendState {
        health == .down ? .down : backend.state
    }

    public static func tables(config: SwitchyardConfig, allocation: IDAllocation,
                              health: [String: HealthCheckStateMachine.Health]) -> DatapathTables {
        DatapathTables(config: config, serviceID: allocation.serviceID, backendIndex: allocation.backendIndex) { service, backend in
            effectiveState(backend, health: health[IDAllocation.backendKey(service.key, backend.identity)])
        }
    }
}
