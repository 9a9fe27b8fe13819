import DatapathModel
import SwitchyardCore

/// Everything the LB-node agent decides, as a pure state machine: events in (named for what
/// happened), actions out. No I/O, no clock: the `Agent` actor executes the actions and reports
/// their outcome as further events.
///
/// The rules it keeps:
/// - a rejected config, or one the datapath could not be programmed with, leaves the running
///   config in force (and the datapath re-programmed with it);
/// - ids are stable (`IDAllocation`), saved before the datapath names them, and a failure to
///   save is logged, counted and retried — it is what keeps backend indices stable under live
///   flows;
/// - flows of a removed backend are purged (here and, for stateful services, in the store)
///   before its index can be reused;
/// - probe targets follow the config; health changes re-program the rings;
/// - stateful flow reports become store writes with their lifetimes (`AgentState+FlowSharing`);
/// - a VIP is announced over BGP only while this node can forward it, and a drain first marks
///   the routes GRACEFUL_SHUTDOWN, then withdraws them (`AgentState+Announcement`).
public struct AgentState: Sendable {
    public internal(set) var config: SwitchyardConfig
    public internal(set) var allocation: IDAllocation
    public internal(set) var health: [BackendKey: HealthCheckStateMachine] = [:]
    public internal(set) var probeTargets: [BackendKey: ProbeTarget] = [:]
    public internal(set) var counts = Counts()
    /// Stateful mode's counts; nil when no service shares flows.
    public internal(set) var sharing: FlowSharing?
    /// The store stateful services use, if any.
    public let storeSettings: FlowStoreSettings?

    /// Counts an operator reads in status and metrics.
    public struct Counts: Sendable, Equatable {
        public var reloadsOK = 0, reloadsFailed = 0, ringRebuilds = 0
        /// Programming passes the datapath refused; saves of the id allocation that failed.
        public var programmingFailures = 0, allocationSaveFailures = 0
    }

    /// A programming pass the executor is carrying out, and what to do with its outcome.
    struct Programming: Sendable {
        enum Purpose: Sendable {
            case start
            /// A new config; on failure the previous config and allocation come back.
            case reload(trigger: String, previous: SwitchyardConfig, previousAllocation: IDAllocation)
            /// Health change, timer retry, or restoring the previous config: nothing to fall back to.
            case refresh
        }
        var purpose: Purpose
        var reason: String
    }

    var programming: Programming?
    /// Names of retired backend indices, for the store deletes of their flows.
    var retiredNames: [UInt32: BackendKey] = [:]
    var armed: Set<AgentTimer> = []
    /// When each backend's health last changed (probe time), for logs.
    var healthChangedAt: [BackendKey: Duration] = [:]
    /// BFD peers whose path is down (`bfdPathChanged`): when it is every BFD peer, the node is cut
    /// off from its routers.
    var bfdPathsDown: Set<IPAddress> = []
    /// When the node last stopped being isolated: failures of probes started before are ignored.
    var pathReturnedAt: Duration?
    /// Id → shared name lookups for the current allocation (rebuilt when it changes).
    var names = SharedNames()
    var savedAllocation: IDAllocation?

    // Announcements (`AgentState+Announcement`).
    /// Which VIPs to announce, and the drain.
    public internal(set) var announcementPolicy: AnnouncementPolicy
    /// The last decision, for status; empty when the node speaks no BGP.
    public internal(set) var announcementDecision = AnnouncementDecision()
    /// The XDP program is attached to the node's interface.
    public internal(set) var attached = false
    /// The flow store's entries were loaded into the flow table (stateful services may take traffic).
    public internal(set) var flowStoreLoaded = false
    /// Services the datapath was last programmed with.
    var programmedServices: Set<ServiceKey> = []
    /// What the last `.announce` asked for.
    var announcedRoutes: [IPPrefix: RouteAnnouncement] = [:]
    /// The latest time an event carried. Only the drain period depends on time, and its end
    /// arrives as a timed event (`timerFired(.reannounce, at:)`), so decisions between timed
    /// events use this.
    var clock: Duration = .zero

    public init(config: SwitchyardConfig, savedAllocation: IDAllocation?) {
        self.config = config
        allocation = savedAllocation ?? IDAllocation()
        self.savedAllocation = savedAllocation
        announcementPolicy = AnnouncementPolicy(
            drainPeriod: Self.drainPeriod(config), nodeShard: config.node.shard)
        storeSettings = Self.flowStoreSettings(config)
        sharing = storeSettings.map { FlowSharing(store: Self.storeDescription($0, node: config.node)) }
    }

    /// The store stateful services use: the configured one, else (when any service is stateful)
    /// the embedded store.
    public static func flowStoreSettings(_ config: SwitchyardConfig) -> FlowStoreSettings? {
        if let store = config.node.flowStore { return store }
        return config.services.contains { $0.mode == .stateful } ? .embedded : nil
    }

    /// Where the embedded store keeps its journal.
    public static func journalPath(_ store: FlowStoreSettings, node: NodeSettings) -> String {
        store.path ?? "\(node.stateDirectory)/flows.journal"
    }

    static func storeDescription(_ store: FlowStoreSettings, node: NodeSettings) -> String {
        switch store.kind {
        case .redis: "redis \(store.host):\(store.port)"
        case .redisCluster: "redis-cluster \(store.seeds.map(\.description).joined(separator: ","))"
        case .redisSentinel:
            "redis-sentinel \(store.masterName ?? "") via \(store.seeds.map(\.description).joined(separator: ","))"
        case .embedded: "embedded \(journalPath(store, node: node))"
        }
    }

    // MARK: - Start and reload

    /// The agent starts over `config` (with the allocation an earlier agent saved, if any):
    /// allocate, save, program, start probing. `reusedPinnedMaps` says the datapath already
    /// holds an earlier agent's maps.
    public mutating func starting(reusedPinnedMaps: Bool) throws(IDAllocation.AllocationError) -> [AgentAction] {
        var actions: [AgentAction] = []
        if reusedPinnedMaps && savedAllocation == nil {
            actions.append(
                .log(
                    .init(
                        .warning, "pinned maps found without a saved id allocation; ids start afresh",
                        ["node": config.node.name])))
        }
        try allocation.update(for: config)
        names = SharedNames(allocation)
        // Indices an earlier agent retired and did not live to purge are purged once programmed
        // (`programmed`); their names are gone, so the store keeps those entries to their TTL.
        programming = Programming(purpose: .start, reason: "start")
        actions += [.persistAllocation(allocation), .program(desiredTables(), reason: "start")]
        actions += probeTargetsChanged()
        return actions
    }

    /// A config source produced a valid config.
    public mutating func configLoaded(_ new: SwitchyardConfig, trigger: String) -> [AgentAction] {
        guard new != config else { return [.log(.init(.info, "config unchanged", ["trigger": trigger]))] }
        let previous = config
        let previousAllocation = allocation
        let retiring: Set<UInt32>
        do {
            retiring = try allocation.update(for: new)
        } catch {
            counts.reloadsFailed += 1
            return [
                .log(
                    .init(
                        .error, "config rejected, running config kept",
                        ["trigger": trigger, "error": "\(error)", "node": config.node.name]))
            ]
        }
        for index in retiring {
            retiredNames[index] = previousAllocation.backends.first { $0.value == index }?.key
        }
        var actions = ConfigDiff.logRecords(from: previous, to: new)
        if new.node.bgp != previous.node.bgp {
            actions.append(
                .log(
                    .init(
                        .warning,
                        "node.bgp changed; the BGP sessions keep their start settings until the agent restarts",
                        ["trigger": trigger, "node": new.node.name])))
        }
        config = new
        names = SharedNames(allocation)
        let reason = "reload (\(trigger))"
        programming = Programming(
            purpose: .reload(trigger: trigger, previous: previous, previousAllocation: previousAllocation),
            reason: reason)
        actions += [.persistAllocation(allocation), .program(desiredTables(), reason: reason)]
        actions += probeTargetsChanged()
        // A VIP that left goes at once; one that came waits for its programming.
        actions += configChangedAnnouncements()
        return actions
    }

    /// A config source produced a config with errors: nothing changes.
    public mutating func configRejected(errors: [String], trigger: String) -> [AgentAction] {
        counts.reloadsFailed += 1
        return errors.map {
            .log(.init(.error, "config rejected, running config kept", ["trigger": trigger, "error": $0]))
        }
    }

    // MARK: - Programming outcomes

    public mutating func programmed(_ result: ProgrammingResult) -> [AgentAction] {
        guard let pass = programming else { return [] }
        programming = nil
        counts.ringRebuilds += result.ringsSwapped
        if case .reload = pass.purpose { counts.reloadsOK += 1 }
        var actions: [AgentAction] = [
            .log(
                .init(
                    .info, "datapath programmed",
                    [
                        "reason": pass.reason, "services": "\(config.services.count)",
                        "rings_swapped": "\(result.ringsSwapped)",
                        "services_written": "\(result.servicesWritten)",
                        "services_removed": "\(result.servicesRemoved)",
                        "backends_written": "\(result.backendsWritten)", "node": config.node.name,
                    ]))
        ]
        // The datapath no longer names retired indices: their flows can go.
        if !allocation.retired.isEmpty { actions.append(.purgeFlows(backends: allocation.retired)) }
        programmedServices = Set(config.services.map(\.key))
        actions += reannounce()
        return actions
    }

    public mutating func programmingFailed(error: String) -> [AgentAction] {
        guard let pass = programming else { return [] }
        programming = nil
        counts.programmingFailures += 1
        switch pass.purpose {
        case .start:
            return [.log(.init(.error, "could not program the datapath", ["error": error, "node": config.node.name]))]
        case .reload(let trigger, let previous, let previousAllocation):
            counts.reloadsFailed += 1
            // Back to the running config. Indices the failed config allocated were never in a
            // flow entry; those it retired are still in use by the restored config.
            config = previous
            allocation = previousAllocation
            names = SharedNames(allocation)
            retiredNames = retiredNames.filter { allocation.retired.contains($0.key) }
            programming = Programming(purpose: .refresh, reason: "restore after failed reload")
            var actions: [AgentAction] = [
                .log(
                    .init(
                        .error, "reload failed to program the datapath; running config kept",
                        ["trigger": trigger, "error": error, "node": config.node.name])),
                .persistAllocation(allocation), .program(desiredTables(), reason: "restore after failed reload"),
            ]
            actions += probeTargetsChanged()
            actions += configChangedAnnouncements()
            return actions
        case .refresh:
            return [
                .log(
                    .init(
                        .error, "could not program the datapath; retrying",
                        ["reason": pass.reason, "error": error, "node": config.node.name]))
            ]
                + arm(.reprogram, after: .seconds(1))
        }
    }

    public mutating func allocationPersisted() -> [AgentAction] {
        savedAllocation = allocation
        return []
    }

    public mutating func allocationPersistFailed(error: String) -> [AgentAction] {
        counts.allocationSaveFailures += 1
        return [
            .log(
                .init(
                    .error, "could not save the id allocation; backend indices are not yet durable",
                    ["error": error, "node": config.node.name]))
        ]
            + arm(.retryPersist, after: .seconds(5))
    }

    /// The flows naming retired indices are gone from the datapath. For stateful services they
    /// are deleted from the store too; then the indices may be reused.
    public mutating func flowsPurged(_ flows: [ScannedFlow], backends: Set<UInt32>) -> [AgentAction] {
        var actions: [AgentAction] = []
        var deletes: [FlowStoreWrite] = []
        if storeSettings != nil {
            for flow in flows {
                guard let key = retiredNames[flow.entry.backend] else { continue }
                deletes.append(.delete(record(flow.key, service: key.service, backend: key.backend)))
            }
        }
        if !flows.isEmpty {
            sharing?.purged += flows.count
            actions.append(
                .log(
                    .init(
                        .info, "flows of removed backends purged",
                        [
                            "entries": "\(flows.count)", "backends": "\(backends.sorted())", "node": config.node.name,
                        ])))
        }
        if !deletes.isEmpty { actions.append(.writeStore(deletes)) }
        allocation.purged(backends)
        for index in backends { retiredNames[index] = nil }
        actions.append(.persistAllocation(allocation))
        return actions
    }

    public mutating func purgeFailed(error: String) -> [AgentAction] {
        [
            .log(
                .init(
                    .error, "could not purge the flows of removed backends; their indices stay retired",
                    ["error": error, "node": config.node.name]))
        ] + arm(.retryPurge, after: .seconds(1))
    }

    public mutating func timerFired(_ timer: AgentTimer) -> [AgentAction] {
        armed.remove(timer)
        switch timer {
        case .reprogram:
            guard programming == nil else { return [] }
            programming = Programming(purpose: .refresh, reason: "retry after a failed programming")
            return [.program(desiredTables(), reason: "retry after a failed programming")]
        case .retryPurge:
            return allocation.retired.isEmpty ? [] : [.purgeFlows(backends: allocation.retired)]
        case .retryPersist:
            return savedAllocation == allocation ? [] : [.persistAllocation(allocation)]
        case .reannounce:
            return reannounce()
        }
    }

    /// `timer` is due at `now`.
    public mutating func timerFired(_ timer: AgentTimer, at now: Duration) -> [AgentAction] {
        clock = max(clock, now)
        return timerFired(timer)
    }

    // MARK: - Helpers

    /// The datapath tables the current config, allocation and health ask for.
    public func desiredTables() -> DatapathTables {
        DesiredState.tables(config: config, allocation: allocation, health: health.mapValues(\.health))
    }

    mutating func arm(_ timer: AgentTimer, after delay: Duration) -> [AgentAction] {
        guard armed.insert(timer).inserted else { return [] }
        return [.armTimer(timer, after: delay)]
    }
}
