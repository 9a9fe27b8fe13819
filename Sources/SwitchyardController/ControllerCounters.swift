/// What the controller has done, for `/metrics` and the tests.
public struct ControllerCounters: Sendable, Equatable {
    public var leading = false
    public var synced = false
    public var serviceWrites = 0
    public var serviceWriteConflicts = 0
    public var serviceWriteFailures = 0
    public var poolWrites = 0
    public var poolWriteFailures = 0
    public var events = 0
    public var eventFailures = 0
    public var assigned = 0
    public var relists = 0
    /// Writes queued or in flight (Service statuses, pool statuses, Events).
    public var backlog = 0

    /// Prometheus text exposition (counters and gauges, no library needed for a dozen lines).
    public var prometheusText: String {
        let lines: [(String, String, String, Int)] = [
            ("switchyard_controller_leading", "gauge", "1 while this instance holds the lease", leading ? 1 : 0),
            (
                "switchyard_controller_synced", "gauge", "1 once pools, namespaces and services are listed",
                synced ? 1 : 0
            ),
            (
                "switchyard_controller_service_status_writes_total", "counter", "Service status writes that succeeded",
                serviceWrites
            ),
            (
                "switchyard_controller_service_status_conflicts_total", "counter",
                "Service status writes refused with 409 (re-read and decided again)", serviceWriteConflicts
            ),
            (
                "switchyard_controller_service_status_failures_total", "counter", "Service status writes that failed",
                serviceWriteFailures
            ),
            ("switchyard_controller_pool_status_writes_total", "counter", "AddressPool status writes", poolWrites),
            (
                "switchyard_controller_pool_status_failures_total", "counter", "AddressPool status writes that failed",
                poolWriteFailures
            ),
            ("switchyard_controller_events_total", "counter", "Events recorded", events),
            ("switchyard_controller_event_failures_total", "counter", "Events the server refused", eventFailures),
            ("switchyard_controller_services_assigned", "gauge", "Services holding an address", assigned),
            ("switchyard_controller_relists_total", "counter", "Lists after a watch expired (410)", relists),
            ("switchyard_controller_write_backlog", "gauge", "Writes queued or in flight", backlog),
        ]
        return lines.map { name, type, help, value in
            "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }.joined()
    }
}
