import DatapathModel
import SwitchyardABI
import SwitchyardCore

/// Datapath ids ↔ the names LB nodes share (service key text, backend identity text). Ids are
/// per node; names are the same on every node, so only names cross the store.
struct SharedNames: Sendable {
    var services: [UInt32: ServiceKey] = [:]
    var backends: [UInt32: BackendKey] = [:]
    /// (service name, backend name) as a record carries them → (service id, backend index).
    var byName: [SharedBackendName: (service: UInt32, backend: UInt32)] = [:]

    init() {}

    init(_ allocation: IDAllocation) {
        services = Dictionary(allocation.services.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        backends = Dictionary(allocation.backends.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        for (key, index) in allocation.backends {
            guard let service = allocation.services[key.service] else { continue }
            byName[SharedBackendName(service: key.service.description, backend: key.backend.description)] =
                (service, index)
        }
    }
}

/// A backend named as a `FlowRecord` names it.
struct SharedBackendName: Hashable, Sendable {
    var service: String
    var backend: String
}

extension AgentState {
    func record(_ flow: FlowKey, service: ServiceKey, backend: BackendIdentity) -> FlowRecord {
        FlowRecord(service: service.description, flow: flow, backend: backend.description, origin: config.node.name)
    }

    /// Datapath reports → store writes: a new entry lives `newFlowSeconds` until its first
    /// refresh, a refreshed one its protocol's idle time, a closing one `closingSeconds`; a reset
    /// one is deleted here and in the store. Reports naming ids this node no longer has are
    /// skipped.
    public mutating func flowReportsArrived(_ reports: [FlowReport]) -> [AgentAction] {
        guard let settings = storeSettings, !reports.isEmpty else { return [] }
        var writes: [FlowStoreWrite] = []
        var resets: [FlowKey] = []
        var own: [FlowKey: DatapathTables.FlowEntry] = [:]
        writes.reserveCapacity(reports.count)
        for report in reports {
            guard let backend = names.backends[report.backend], names.services[report.service] == backend.service
            else { continue }
            let record = record(report.key, service: backend.service, backend: backend.backend)
            switch report.kind {
            case .new:
                writes.append(.put(record, seconds: settings.newFlowSeconds, announce: true))
                own[report.key] = DatapathTables.FlowEntry(backend: report.backend, service: report.service)
                sharing?.published += 1
            case .refresh:
                // Announced too: nodes holding a copy keep it protected from eviction.
                writes.append(.put(record, seconds: settings.idleSeconds(proto: report.key.proto), announce: true))
                sharing?.refreshed += 1
            case .fin:
                writes.append(.put(record, seconds: settings.closingSeconds, announce: false))
                sharing?.ended += 1
            case .rst:
                writes.append(.delete(record))
                resets.append(report.key)
                sharing?.ended += 1
            }
        }
        var actions: [AgentAction] = []
        if !resets.isEmpty { actions.append(.removeFlows(resets)) }
        if !own.isEmpty { actions.append(.keepOwnFlows(own)) }
        if !writes.isEmpty { actions.append(.writeStore(writes)) }
        return actions
    }

    /// Records from other nodes (or the store) → entries for this node's flow table. Records this
    /// node wrote itself are skipped; records naming a service or backend it does not have are
    /// skipped and counted.
    public mutating func flowRecordsArrived(_ records: [FlowRecord]) -> [AgentAction] {
        var flows: [FlowKey: DatapathTables.FlowEntry] = [:]
        for record in records where record.origin != config.node.name {
            guard let ids = names.byName[SharedBackendName(service: record.service, backend: record.backend)] else {
                sharing?.unresolved += 1
                continue
            }
            flows[record.flow] = DatapathTables.FlowEntry(backend: ids.backend, service: ids.service)
        }
        return flows.isEmpty ? [] : [.installFlows(flows)]
    }

    public mutating func flowsInstalled(_ result: FlowInstallResult) -> [AgentAction] {
        sharing?.installed += result.written
        sharing?.extended += result.present
        sharing?.busy += result.busy
        return []
    }

    /// What `keepOwnFlows` did: own flows the datapath had no way for, now in a way or the overflow.
    public mutating func ownFlowsKept(_ result: FlowInstallResult) -> [AgentAction] {
        sharing?.ownPlaced += result.written
        sharing?.ownOverflow += result.busy
        return []
    }

    public mutating func installFailed(error: String, count: Int) -> [AgentAction] {
        [
            .log(
                .init(
                    .error, "could not install shared flows",
                    ["error": error, "count": "\(count)", "node": config.node.name]))
        ]
    }

    /// This node's own live entries of stateful services, to re-write after the store was lost
    /// (a restarted Redis comes back empty). Announced, so nodes that missed them catch up too.
    public func ownEntryWrites(_ flows: [ScannedFlow]) -> [FlowStoreWrite] {
        guard let settings = storeSettings else { return [] }
        let stateful = Set(config.services.filter { $0.mode == .stateful }.compactMap { allocation.serviceID($0.key) })
        let notOwnOrNotLive = SY_FLOW_F_REMOTE | SY_FLOW_F_CLOSING | SY_FLOW_F_EMBRYONIC
        return flows.compactMap { flow in
            guard stateful.contains(flow.entry.service), flow.flags & notOwnOrNotLive == 0,
                let backend = names.backends[flow.entry.backend], names.services[flow.entry.service] == backend.service
            else { return nil }
            let record = record(flow.key, service: backend.service, backend: backend.backend)
            return .put(record, seconds: settings.idleSeconds(proto: flow.key.proto), announce: true)
        }
    }

    public mutating func storeBecameReachable() -> [AgentAction] {
        sharing?.storeReachable = true
        return []
    }

    public mutating func storeLost() -> [AgentAction] {
        sharing?.storeReachable = false
        return []
    }
}
