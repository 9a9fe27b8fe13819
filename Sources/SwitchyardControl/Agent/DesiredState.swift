import DatapathModel
import SwitchyardABI
import SwitchyardCore

/// What the datapath should hold: the config, with each backend's health folded in.
public enum DesiredState {
    /// The effective state of a backend: down if its health check says so, else as configured.
    public static func effectiveState(_ backend: Backend, health: HealthCheckStateMachine.Health?) -> BackendState {
        health == .down ? .down : backend.state
    }

    /// The tables for `config` under `allocation`, which must have been updated for it.
    public static func tables(
        config: SwitchyardConfig, allocation: IDAllocation,
        health: [BackendKey: HealthCheckStateMachine.Health]
    ) -> DatapathTables {
        DatapathTables(
            config: config, serviceID: { allocation.serviceID($0) ?? SY_MAX_SERVICES },
            backendIndex: { allocation.backendIndex($0) ?? SY_BACKEND_NONE },
            state: { service, backend in
                effectiveState(backend, health: health[BackendKey(service: service.key, backend: backend.identity)])
            })
    }
}
