import DatapathModel
import Foundation
import Logging
import Prometheus
import SwitchyardConfig
import SwitchyardControl
import SwitchyardCore
import SwitchyardDatapath
import SwitchyardStore
import SwitchyardABI

/// The LB node agent's state and decisions: config, health, id allocation, and the datapath it
/// programs. The I/O around it (probes, servers, signals) only reports events to it.
public actor Agent {
    public let configPath: String
    public private(set) var config: SwitchyardConfig
    private var allocation: IDAllocation
    private var health: [String: HealthCheckStateMachine] = [:]
    nonisolated let datapath: LBDatapath
    private let writer: DatapathWriter
    private let logger: Logger
    private var xdpMode: XDPAttachment.Mode?
    private var reloadsOK = 0, reloadsFailed = 0, ringRebuilds = 0
    private let metrics = AgentMetrics()

    /// Loads the datapath over the pinned maps (re-using them when a previous agent left them),
    /// programs it and attaches it. Packets keep flowing through an agent restart: the new
    /// program replaces the old one atomically and finds the same flow table.
    public init(configPath: String, config: SwitchyardConfig, logger: Logger) throws {
        self.configPath = configPath
        self.config = config
        self.logger = logger
        let node = config.node
        try BPFFS.ensureMounted(Self.bpffsRoot(node.pinDirectory))
        try FileManager.default.createDirectory(atPath: node.pinDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: node.stateDirectory, withIntermediateDirectories: true)
        datapath = try LBDatapath(options: .init(flowCapacity: node.flowTableCapacity, pinDirectory: node.pinDirectory))
        let hz = try DatapathClock.hz(datapath)
        storeSettings = Self.flowStoreSettings(config)
        writer = DatapathWriter(datapath: datapath, newFlowRate: UInt32(clamping: node.newFlowRatePerCPU),
                                evictIdle: DatapathClock.jiffies(seconds: node.flowEvictIdleSeconds, hz: hz),
                                syncRefresh: storeSettings.map { DatapathClock.jiffies(seconds: Double($0.refreshSeconds), hz: hz) } ?? 0)
        sharing = storeSettings.map { FlowSharing(store: $0.kind == .redis ? "redis \($0.host):\($0.port)" : "embedded \(Self.journalPath($0, node))") }
        allocation = Self.loadAllocation(node.stateDirectory) ?? IDAllocation()
        if datapath.reusedPinnedMaps && Self.loadAllocation(node.stateDirectory) == nil {
            logger.warning("pinned maps found without a saved id allocation; ids start afresh", metadata: ["pins": "\(node.pinDirectory)"])
        }
        logger.info("datapath loaded", metadata: [
            "node": "\(node.name)", "pins": "\(node.pinDirectory)", "reused_pinned_maps": "\(datapath.reusedPinnedMaps)",
            "flow_capacity": "\(node.flowTableCapacity)", "hz": "\(hz)",
        ])
    }

    /// The bpffs mount that holds the pin directory (the directory itself if none above it).
    static func bpffsRoot(_ pins: String) -> String {
        var path = URL(fileURLWithPath: pins)
        while path.path != "/" {
            if BPFFS.isMounted(path.path) { return path.path }
            path.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: pins).deletingLastPathComponent().path
    }

    public func start() throws {
        try program()
        try attach()
    }

    public func program() throws {
        try apply(reason: "start")
    }

    public func attach() throws {
        if let interface = config.node.interface {
            xdpMode = try XDPAttachment.attach(program: datapath.programFD, interface: interface)
            logger.info("XDP attached", metadata: ["interface": "\(interface)", "mode": "\(xdpMode!.rawValue)"])
        } else {
            logger.warning("no node.interface configured: datapath programmed but not attached")
        }
    }

    /// Recomputes the tables from config and health and writes what changed. Flow entries of
    /// removed backends are purged once the datapath no longer names them.
    private func apply(reason: String) throws {
        let previous = allocation
        let freed = try allocation.update(for: config)
        Self.saveAllocation(allocation, config.node.stateDirectory)
        let states = health.mapValues(\.health)
        let tables = DesiredState.tables(config: config, allocation: allocation, health: states)
        let changes = try writer.apply(tables)
        if !freed.isEmpty { purgeFlows(of: freed, named: previous) }
        ringRebuilds += changes.ringsSwapped
        logger.info("datapath programmed", metadata: [
            "reason": "\(reason)", "services": "\(tables.services.count)", "rings_swapped": "\(changes.ringsSwapped)",
            "services_written": "\(changes.servicesWritten)", "services_removed": "\(changes.servicesRemoved)",
            "backends_written": "\(changes.backendsWritten)",
        ])
    }

    /// Reads the config file again. A bad file changes nothing and every error is logged.
    public func reload(trigger: String) {
        switch ConfigLoader.load(path: configPath) {
        case .failure(let errors):
            reloadsFailed += 1
            for error in errors.errors {
                logger.error("config rejected, running config kept", metadata: ["trigger": "\(trigger)", "error": "\(error)"])
            }
        case .success(let new):
            guard new != config else {
                logger.info("config unchanged", metadata: ["trigger": "\(trigger)"])
                return
            }
            logChanges(from: config, to: new)
            let old = config
            config = new
            do {
                try apply(reason: "reload (\(trigger))")
                reloadsOK += 1
            } catch {
                config = old
                reloadsFailed += 1
                logger.error("reload failed to program the datapath; running config kept", metadata: ["error": "\(error)"])
                try? apply(reason: "restore after failed reload")
            }
        }
    }

    private func logChanges(from old: SwitchyardConfig, to new: SwitchyardConfig) {
        let before = Dictionary(old.services.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(new.services.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        for key in after.keys where before[key] == nil { logger.info("service added", metadata: ["service": "\(after[key]!.name)", "vip": "\(key)"]) }
        for key in before.keys where after[key] == nil { logger.info("service removed", metadata: ["service": "\(before[key]!.name)", "vip": "\(key)"]) }
        for (key, service) in after {
            guard let previous = before[key] else { continue }
            let was = Dictionary(previous.backends.map { ($0.identity, $0) }, uniquingKeysWith: { a, _ in a })
            for backend in service.backends {
                if let w = was[backend.identity] {
                    if w.state != backend.state || w.weight != backend.weight {
                        logger.info("backend changed", metadata: [
                            "service": "\(service.name)", "backend": "\(backend.identity)", "node": "\(new.node.name)",
                            "old": "\(w.state)/\(w.weight)", "new": "\(backend.state)/\(backend.weight)", "reason": "config",
                        ])
                    }
                } else {
                    logger.info("backend added", metadata: ["service": "\(service.name)", "backend": "\(backend.identity)", "node": "\(new.node.name)"])
                }
            }
            for identity in was.keys where !service.backends.contains(where: { $0.identity == identity }) {
                logger.info("backend removed", metadata: ["service": "\(service.name)", "backend": "\(identity)", "node": "\(new.node.name)"])
            }
        }
    }

    /// The probes the agent should be running: one per (service, backend) with a health check.
    public func probeTargets() -> [ProbeTarget] {
        config.services.flatMap { service -> [ProbeTarget] in
            guard let check = service.healthCheck else { return [] }
            return service.backends.map {
                ProbeTarget(key: IDAllocation.backendKey(service.key, $0.identity), service: service.name,
                            address: $0.address, port: $0.port, check: check)
            }
        }
    }

    public func probeResult(_ target: ProbeTarget, ok: Bool, detail: String) {
        guard probeTargets().contains(where: { $0.key == target.key }) else { return } // removed meanwhile
        var machine = health[target.key] ?? HealthCheckStateMachine(rise: target.check.rise, fall: target.check.fall)
        let action = ok ? machine.probeSucceeded() : machine.probeFailed(reason: detail)
        health[target.key] = machine
        guard case .changed(let from, let to, let reason)? = action else { return }
        logger.notice("backend health changed", metadata: [
            "service": "\(target.service)", "backend": "\(target.address):\(target.port)", "node": "\(config.node.name)",
            "old": "\(from.rawValue)", "new": "\(to.rawValue)", "reason": "\(reason)",
        ])
        do { try apply(reason: "health \(target.service) \(target.address):\(target.port) \(to.rawValue)") } catch {
            logger.error("could not program the datapath after a health change", metadata: ["error": "\(error)"])
        }
    }

    public func status() throws -> AgentStatus {
        let reader = CounterReader(datapath: datapath)
        let services = config.services.map { allocation.serviceID($0.key) }
        let backends = config.services.flatMap { s in s.backends.map { allocation.backendIndex(s.key, $0.identity) } }
        let counters = try reader.read(services: services, backends: backends)
        return AgentStatus(
            node: config.node.name, interface: config.node.interface, xdpMode: xdpMode?.rawValue,
            reusedPinnedMaps: datapath.reusedPinnedMaps, configFile: configPath, reloadsOK: reloadsOK,
            reloadsFailed: reloadsFailed, ringRebuilds: ringRebuilds, flowSharing: sharing,
            services: config.services.map { service in
                let id = allocation.serviceID(service.key)
                let c = counters.services[id] ?? .init()
                return AgentStatus.ServiceStatus(
                    name: service.name, key: service.key.description, id: id, mode: service.mode.rawValue,
                    flowKey: service.flowKey.rawValue, encap: service.encap.rawValue, packets: c.packets,
                    newFlows: c.newFlows, tooBig: c.tooBig,
                    backends: service.backends.map { backend in
                        let key = IDAllocation.backendKey(service.key, backend.identity)
                        let index = allocation.backendIndex(service.key, backend.identity)
                        let b = counters.backends[index] ?? .init()
                        let h = health[key]?.health
                        return AgentStatus.BackendStatus(
                            address: "\(backend.address)", port: backend.port, index: index, weight: backend.weight,
                            configured: backend.state.rawValue, health: service.healthCheck == nil ? nil : (h ?? .up).rawValue,
                            effective: DesiredState.effectiveState(backend, health: h).rawValue,
                            packets: b.packets, bytes: b.bytes, newFlows: b.newFlows)
                    })
            },
            drops: Dictionary(uniqueKeysWithValues: counters.drops.map { ($0.key.name, $0.value) }),
            events: try reader.events())
    }

    /// Prometheus text exposition of the datapath counters and the agent's own.
    public func metricsText() throws -> [UInt8] {
        try metrics.render(try status())
    }

    // MARK: - Flow sharing (stateful services)

    /// The store stateful services use: the configured one, else (when any service is stateful)
    /// the embedded store.
    public nonisolated static func flowStoreSettings(_ config: SwitchyardConfig) -> FlowStoreSettings? {
        if let store = config.node.flowStore { return store }
        return config.services.contains { $0.mode == .stateful } ? .embedded : nil
    }

    nonisolated static func journalPath(_ store: FlowStoreSettings, _ node: NodeSettings) -> String {
        store.path ?? "\(node.stateDirectory)/flows.journal"
    }

    public nonisolated static func makeFlowStore(_ config: SwitchyardConfig) throws -> (any FlowStore)? {
        guard let settings = flowStoreSettings(config) else { return nil }
        switch settings.kind {
        case .redis: return RedisFlowStore(settings: settings)
        case .embedded: return try EmbeddedFlowStore(path: journalPath(settings, config.node), maxEntries: settings.maxEntries)
        }
    }

    nonisolated let storeSettings: FlowStoreSettings?
    private var sharing: FlowSharing?
    private var storeOutbox: AsyncStream<[FlowStoreWrite]>.Continuation?

    /// Where writes that do not come from datapath reports (purges, catch-up) go.
    func setStoreOutbox(_ outbox: AsyncStream<[FlowStoreWrite]>.Continuation) { storeOutbox = outbox }

    func noteStore(reachable: Bool? = nil, failures: Int = 0, refused: Int = 0, pending: Int? = nil, dropped: Int = 0) {
        guard sharing != nil else { return }
        if let reachable { sharing!.storeReachable = reachable }
        sharing!.storeFailures += failures
        sharing!.refused += refused
        sharing!.dropped += dropped
        if let pending { sharing!.pending = pending }
    }

    /// Datapath ids → the names nodes share, under an allocation (the current one by default).
    private func names(_ of: IDAllocation? = nil) -> (services: [UInt32: String], backends: [UInt32: String]) {
        let a = of ?? allocation
        return (Dictionary(a.services.map { ($0.value, $0.key) }, uniquingKeysWith: { x, _ in x }),
                Dictionary(a.backends.map { ($0.value, $0.key) }, uniquingKeysWith: { x, _ in x }))
    }

    private func record(_ key: FlowKey, service: UInt32, backend: UInt32,
                        names: (services: [UInt32: String], backends: [UInt32: String])) -> FlowRecord? {
        guard let serviceName = names.services[service], let backendKey = names.backends[backend],
              let bar = backendKey.firstIndex(of: "|") else { return nil }
        return FlowRecord(service: serviceName, flow: key, backend: String(backendKey[backendKey.index(after: bar)...]), origin: config.node.name)
    }

    /// Datapath reports → store writes, by name (service key, backend identity): a new entry lives
    /// `newFlowSeconds` until its first refresh, a refreshed one its protocol's idle time, a
    /// closing one `closingSeconds`; a reset one is deleted here and in the store.
    func storeWrites(for events: [sy_flow_event]) -> [FlowStoreWrite] {
        guard let settings = storeSettings, !events.isEmpty else { return [] }
        let names = names()
        var writes: [FlowStoreWrite] = [], resets: [FlowKey] = []
        writes.reserveCapacity(events.count)
        for event in events {
            let key = event.key.model
            guard let record = record(key, service: event.service, backend: event.backend, names: names) else { continue }
            switch sy_flow_report(rawValue: event.kind) {
            case SY_REPORT_NEW:
                writes.append(.put(record, seconds: settings.newFlowSeconds, announce: true))
                sharing?.published += 1
            case SY_REPORT_REFRESH:
                // Announced too: nodes holding a copy keep it protected from eviction.
                writes.append(.put(record, seconds: settings.idleSeconds(proto: key.proto), announce: true))
                sharing?.refreshed += 1
            case SY_REPORT_FIN:
                writes.append(.put(record, seconds: settings.closingSeconds, announce: false))
                sharing?.ended += 1
            default:
                writes.append(.delete(record))
                resets.append(key)
                sharing?.ended += 1
            }
        }
        if !resets.isEmpty { try? writer.removeFlows(resets) }
        return writes
    }

    /// This node's own live entries of stateful services, to re-write after the store was lost
    /// (a restarted Redis comes back empty). Announced, so nodes that missed them catch up too.
    func ownEntriesForStore() -> [FlowStoreWrite] {
        guard let settings = storeSettings else { return [] }
        let names = names()
        let stateful = Set(config.services.filter { $0.mode == .stateful }.map { allocation.serviceID($0.key) })
        var writes: [FlowStoreWrite] = []
        try? writer.flowTable.scan { key, entry, flags in
            guard stateful.contains(entry.service), flags & (SY_FLOW_F_REMOTE | SY_FLOW_F_CLOSING | SY_FLOW_F_EMBRYONIC) == 0,
                  let record = record(key, service: entry.service, backend: entry.backend, names: names) else { return }
            writes.append(.put(record, seconds: settings.idleSeconds(proto: key.proto), announce: true))
        }
        return writes
    }

    /// Removes the entries of backends that left the config, here and (stateful) in the store.
    private func purgeFlows(of freed: Set<UInt32>, named previous: IDAllocation) {
        let names = names(previous)
        var keys: [FlowKey] = [], deletes: [FlowStoreWrite] = []
        do {
            try writer.flowTable.scan { key, entry, _ in
                guard freed.contains(entry.backend) else { return }
                keys.append(key)
                if let record = record(key, service: entry.service, backend: entry.backend, names: names) { deletes.append(.delete(record)) }
            }
            try writer.removeFlows(keys)
        } catch {
            logger.error("could not purge the flows of removed backends", metadata: ["error": "\(error)"])
        }
        guard !keys.isEmpty else { return }
        logger.info("flows of removed backends purged", metadata: ["entries": "\(keys.count)", "backends": "\(freed.sorted())"])
        sharing?.purged += keys.count
        if storeSettings != nil, !deletes.isEmpty { storeOutbox?.yield(deletes) }
    }

    /// Records from other nodes (or the store) → this node's flow table. Records naming a service
    /// or backend this node does not have are skipped and counted.
    @discardableResult
    func install(_ records: [FlowRecord]) -> Int {
        var flows: [FlowKey: DatapathTables.FlowEntry] = [:]
        for record in records where record.origin != config.node.name {
            guard let service = allocation.services[record.service],
                  let backend = allocation.backends["\(record.service)|\(record.backend)"] else {
                sharing?.unresolved += 1
                continue
            }
            flows[record.flow] = DatapathTables.FlowEntry(backend: backend, service: service)
        }
        guard !flows.isEmpty else { return 0 }
        do {
            let result = try writer.install(flows: flows, remote: true)
            sharing?.installed += result.written
            sharing?.extended += result.present
            sharing?.busy += result.busy
        } catch {
            logger.error("could not install shared flows", metadata: ["error": "\(error)", "count": "\(flows.count)"])
        }
        return flows.count
    }

    static func allocationPath(_ dir: String) -> String { "\(dir)/id-allocation.json" }

    static func loadAllocation(_ dir: String) -> IDAllocation? {
        guard let data = FileManager.default.contents(atPath: allocationPath(dir)) else { return nil }
        return try? JSONDecoder().decode(IDAllocation.self, from: data)
    }

    static func saveAllocation(_ allocation: IDAllocation, _ dir: String) {
        guard let data = try? JSONEncoder().encode(allocation) else { return }
        let tmp = allocationPath(dir) + ".tmp"
        if FileManager.default.createFile(atPath: tmp, contents: data) {
            _ = rename(tmp, allocationPath(dir))
        }
    }
}

public struct ProbeTarget: Sendable, Hashable {
    public var key: String
    public var service: String
    public var address: IPAddress
    public var port: UInt16
    public var check: HealthCheck
}

/// Datapath counters as Prometheus metrics. BPF counters are absolute; Prometheus counters only
/// grow, so each scrape adds what changed since the last.
final class AgentMetrics: @unchecked Sendable {
    private let registry = PrometheusCollectorRegistry()
    private var last: [String: UInt64] = [:]
    private let lock = NSLock()

    private func add(_ name: String, _ labels: [(String, String)], _ value: UInt64, help: String) {
        let id = name + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        let delta = value >= (last[id] ?? 0) ? value - (last[id] ?? 0) : value
        last[id] = value
        registry.makeCounter(name: name, labels: labels, help: help).increment(by: Int64(delta))
    }

    func render(_ s: AgentStatus) throws -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        for service in s.services {
            let l = [("service", service.name), ("vip", service.key)]
            add("switchyard_service_packets_total", l, service.packets, help: "Packets forwarded to a backend")
            add("switchyard_service_new_flows_total", l, service.newFlows, help: "Flow-table entries created")
            add("switchyard_service_too_big_total", l, service.tooBig, help: "ICMP too-big replies sent")
            for b in service.backends {
                let bl = [("service", service.name), ("backend", "\(b.address):\(b.port)")]
                add("switchyard_backend_packets_total", bl, b.packets, help: "Packets forwarded to the backend")
                add("switchyard_backend_bytes_total", bl, b.bytes, help: "Bytes forwarded to the backend")
                add("switchyard_backend_new_flows_total", bl, b.newFlows, help: "New flows placed on the backend")
                registry.makeGauge(name: "switchyard_backend_up", labels: bl, help: "1 when the backend takes traffic (effective state up)")
                    .set(to: b.effective == "up" ? 1.0 : 0.0)
                registry.makeGauge(name: "switchyard_backend_healthy", labels: bl, help: "1 when the health check passes (1 if unchecked)")
                    .set(to: b.health == "down" ? 0.0 : 1.0)
            }
        }
        for (reason, n) in s.drops { add("switchyard_drops_total", [("reason", reason)], n, help: "Packets dropped, by reason") }
        for (event, n) in s.events { add("switchyard_datapath_events_total", [("event", event)], n, help: "Datapath events that are not drops") }
        if let f = s.flowSharing {
            let counts: [(String, Int, String)] = [
                ("published", f.published, "New entries written to the flow store"),
                ("refreshed", f.refreshed, "Live entries refreshed in the flow store"),
                ("ended", f.ended, "Entries ended by FIN or RST"),
                ("purged", f.purged, "Entries removed with their backend"),
                ("installed", f.installed, "Entries installed from other nodes or the store"),
                ("extended", f.extended, "Entries from other nodes already present, whose protection a refresh extended"),
                ("unresolved", f.unresolved, "Shared entries naming an unknown service or backend"),
                ("dropped", f.dropped, "Store writes dropped because the wait queue was full"),
                ("refused", f.refused, "Store writes the store refused"),
            ]
            for (name, value, help) in counts { add("switchyard_flows_\(name)_total", [], UInt64(value), help: help) }
            add("switchyard_flow_store_failures_total", [], UInt64(f.storeFailures), help: "Failed attempts to reach the flow store")
            registry.makeGauge(name: "switchyard_flow_store_up", labels: [], help: "1 while the flow store is reachable").set(to: f.storeReachable ? 1.0 : 0.0)
            registry.makeGauge(name: "switchyard_flow_store_pending", labels: [], help: "Store writes waiting for the store").set(to: Double(f.pending))
        }
        add("switchyard_ring_rebuilds_total", [], UInt64(s.ringRebuilds), help: "Maglev rings swapped into the datapath")
        add("switchyard_config_reloads_total", [("result", "ok")], UInt64(s.reloadsOK), help: "Config reloads")
        add("switchyard_config_reloads_total", [("result", "failed")], UInt64(s.reloadsFailed), help: "Config reloads")
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
