import DatapathModel
import Foundation
import Logging
import SwitchyardABI
import SwitchyardBFDSession
import SwitchyardBGPSpeaker
import SwitchyardControl
import SwitchyardCore
import SwitchyardDatapath
import SwitchyardStore
import Synchronization

/// The LB-node agent's executor. Every decision is `AgentState`'s; this actor feeds it events
/// (config loaded, probe reported, flow reports, timers, drain requests) and carries out the
/// actions it returns — program the datapath, save the id allocation, purge or install flows,
/// hand writes to the flow store, set the routes the BGP speaker announces, log — reporting each
/// outcome back as the next event.
public actor Agent {
    public let source: any ConfigSource
    private var state: AgentState
    nonisolated let datapath: LBDatapath
    private let writer: DatapathWriter
    private let logger: Logger
    private let stateDirectory: String
    private var xdpMode: XDPAttachment.Mode?
    /// Invalidates the datapath's cached next hops on neighbour, route and link changes.
    private var nextHopWatcher: NextHopWatcher?
    private let metrics = AgentMetrics()
    /// Monotonic instants handed to the state machines are measured from here.
    private let origin = ContinuousClock.now
    private var storeOutbox: AsyncStream<[FlowStoreWrite]>.Continuation?
    private let probeSink: AsyncStream<[ProbeTarget]>.Continuation
    private let timerSink: AsyncStream<(AgentTimer, Duration)>.Continuation
    /// Probe target sets and timer requests, consumed by the runner's tasks.
    nonisolated let probeTargetSets: AsyncStream<[ProbeTarget]>
    nonisolated let timerRequests: AsyncStream<(AgentTimer, Duration)>
    /// BFD path changes (peer, up, when), appended by the sessions' event loops as they happen.
    /// The actor applies them in that order before every probe result, and when `bfdPathWakeups`
    /// wakes the runner's task: a node must know it is cut off before it believes its probes.
    /// (Delivered as one task each, a path loss reached the actor 1.3–2 s late in the lab — after
    /// the probes' failures had taken every backend out and the link was back — and two such
    /// tasks need not run in order; stateful lb-link-down lost 8–40 of 100 connections in 5 of 27
    /// runs.)
    private nonisolated let pendingBFDPaths = Mutex<[(peer: IPAddress, up: Bool, at: Duration)]>([])
    nonisolated let bfdPathWakeups: AsyncStream<Void>
    private let bfdPathSink: AsyncStream<Void>.Continuation
    private var flowSyncCounts: FlowSyncStateMachine.Counts?
    /// The first programming error of the current `execute` (start fails on it).
    private var programmingError: String?
    /// The BGP speaker when `node.bgp` is set; its sessions keep the settings the agent started with.
    private let speaker: BGPSpeaker?
    /// Each peer's ASN by the name the speaker's status uses.
    private let peerASNs: [String: UInt32]
    private var speakerStopped = false
    /// BFD on the paths to the peers that ask for it (`node.bgp.peers[].bfd`); nil when none does.
    private let bfd: BFDService?
    private let bfdPeers: [BFDPeerConfiguration]

    /// Loads the datapath over the pinned maps (re-using them when a previous agent left them).
    /// Packets keep flowing through an agent restart: the new program replaces the old one
    /// atomically and finds the same flow table.
    public init(source: any ConfigSource, config: SwitchyardConfig, logger: Logger) throws {
        self.source = source
        self.logger = logger
        let node = config.node
        stateDirectory = node.stateDirectory
        try BPFFS.ensureMounted(Self.bpffsRoot(node.pinDirectory))
        try FileManager.default.createDirectory(atPath: node.pinDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: node.stateDirectory, withIntermediateDirectories: true)
        datapath = try LBDatapath(options: .init(flowCapacity: node.flowTableCapacity, pinDirectory: node.pinDirectory))
        let hz = try DatapathClock.hz(datapath)
        let store = AgentState.flowStoreSettings(config)
        writer = DatapathWriter(
            datapath: datapath, newFlowRate: UInt32(clamping: node.newFlowRatePerCPU),
            evictIdle: DatapathClock.jiffies(seconds: node.flowEvictIdleSeconds, hz: hz),
            syncRefresh: store.map { DatapathClock.jiffies(seconds: Double($0.refreshSeconds), hz: hz) } ?? 0)
        let saved: IDAllocation?
        do {
            saved = try AllocationFile.load(node.stateDirectory)
        } catch {
            // Unreadable is not "absent": say so, then start afresh (the pinned maps' flows are
            // re-picked by Maglev where indices moved).
            logger.error(
                "saved id allocation unreadable; ids start afresh",
                metadata: ["file": "\(AllocationFile.path(node.stateDirectory))", "error": "\(error)"])
            saved = nil
        }
        state = AgentState(config: config, savedAllocation: saved)
        let peers = config.node.bgp.map { AgentBGP.peerConfigurations($0, logger: logger) } ?? []
        speaker = config.node.bgp == nil ? nil : BGPSpeaker(peers: peers, logger: logger)
        peerASNs = Dictionary(peers.map { ($0.name, $0.session.peerASN) }, uniquingKeysWith: { first, _ in first })
        bfdPeers = config.node.bgp.map { AgentBFD.peerConfigurations($0, node: node, logger: logger) } ?? []
        bfd = bfdPeers.isEmpty ? nil : BFDService(logger: logger)
        (probeTargetSets, probeSink) = AsyncStream.makeStream()
        (timerRequests, timerSink) = AsyncStream.makeStream()
        (bfdPathWakeups, bfdPathSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        logger.info(
            "datapath loaded",
            metadata: [
                "node": "\(node.name)", "pins": "\(node.pinDirectory)",
                "reused_pinned_maps": "\(datapath.reusedPinnedMaps)",
                "flow_capacity": "\(node.flowTableCapacity)", "hz": "\(hz)",
            ])
        for replaced in datapath.replacedPins {
            logger.error(
                "pinned map of another layout replaced; its contents are lost",
                metadata: ["node": "\(node.name)", "map": "\(replaced)"])
        }
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

    public var config: SwitchyardConfig { state.config }
    public var storeSettings: FlowStoreSettings? { state.storeSettings }
    private var now: Duration { ContinuousClock.now - origin }

    public func start() throws {
        try program()
        try attach()
    }

    /// Allocates ids, saves them and programs the datapath; throws if the datapath refuses.
    public func program() throws {
        programmingError = nil
        execute(try state.starting(reusedPinnedMaps: datapath.reusedPinnedMaps))
        if let programmingError { throw AgentError.programming(programmingError) }
    }

    public func attach() throws {
        if let interface = state.config.node.interface {
            let mode = try XDPAttachment.attach(program: datapath.programFD, interface: interface)
            xdpMode = mode
            logger.info("XDP attached", metadata: ["interface": "\(interface)", "mode": "\(mode.rawValue)"])
            execute(state.datapathAttached())
        } else {
            logger.warning("no node.interface configured: datapath programmed but not attached")
        }
        // Without fixed MACs the datapath caches each backend's FIB answer; a change the watcher
        // cannot follow would leave stale MACs, so no watcher means no caching (generation 0).
        do {
            let watcher = try NextHopWatcher(datapath: datapath)
            watcher.start()
            nextHopWatcher = watcher
        } catch {
            logger.warning(
                "next-hop cache off: every packet asks the FIB", metadata: ["error": "\(error)"])
            try? datapath.fibGeneration.update(UInt32(0), UInt32(0))
        }
    }

    /// At exit: the program stays attached but nothing will follow neighbour changes any more,
    /// so cached next hops are switched off (generation 0: every packet asks the FIB) until the
    /// next agent starts a new generation.
    public func stopNextHopWatcher() {
        nextHopWatcher?.stop()
        nextHopWatcher = nil
        try? datapath.fibGeneration.update(UInt32(0), UInt32(0))
    }

    /// Asks the config source again. A bad config changes nothing and every error is logged.
    public func reload(trigger: String) async {
        switch await source.load() {
        case .success(let config): execute(state.configLoaded(config, trigger: trigger))
        case .failure(let error): execute(state.configRejected(errors: error.problems, trigger: trigger))
        }
    }

    func probeReported(_ target: ProbeTarget, ok: Bool, detail: String, startedAt: ContinuousClock.Instant) {
        applyBFDPathChanges()
        execute(state.probeReported(target.key, ok: ok, detail: detail, startedAt: startedAt - origin, at: now))
    }

    /// On a BFD session's event loop, at once: queued for the actor, which is woken.
    nonisolated func noteBFDPath(peer: IPAddress, up: Bool) {
        let at = ContinuousClock.now - origin
        pendingBFDPaths.withLock { $0.append((peer: peer, up: up, at: at)) }
        bfdPathSink.yield()
    }

    /// Every BFD path change seen so far, in order, each at the time its session saw it.
    func applyBFDPathChanges() {
        let changes = pendingBFDPaths.withLock { pending in
            defer { pending = [] }
            return pending
        }
        for change in changes {
            execute(state.bfdPathChanged(peer: change.peer, up: change.up, at: change.at))
        }
    }

    func timerFired(_ timer: AgentTimer) {
        execute(state.timerFired(timer, at: now))
    }

    // MARK: - BGP

    /// Opens the BGP sessions, and the BFD sessions that watch their paths; routes follow as
    /// `AgentState` decides them.
    public func startBGP() {
        guard let speaker, !speakerStopped else { return }
        if let bfd {
            AgentBFD.start(bfdPeers, on: bfd, reportingTo: speaker, logger: logger) { [weak self] peer, up in
                self?.noteBFDPath(peer: peer, up: up)
            }
        }
        speaker.start()
    }

    /// Starts a drain (`switchyard drain`): VIPs go out with GRACEFUL_SHUTDOWN for the drain
    /// period, then are withdrawn. The datapath keeps forwarding.
    public func drain(trigger: String) {
        execute(state.drainRequested(at: now, trigger: trigger))
    }

    public func undrain(trigger: String) {
        execute(state.undrainRequested(at: now, trigger: trigger))
    }

    /// Shutdown's routing half: drain (waiting out the GRACEFUL_SHUTDOWN period if any VIP is
    /// announced), withdraw everything, close every session with Cease and `reason`, then take
    /// BFD AdminDown. The XDP program stays attached, so connections the routers still send here
    /// are forwarded.
    public func leaveRouting(reason: String) async {
        guard let speaker, !speakerStopped else { return }
        execute(state.drainRequested(at: now, trigger: reason))
        // Until the drain period ends (an earlier `switchyard drain` may have started it).
        if state.announcingGracefulShutdown, let due = state.announcementDecision.reevaluateAt, due > now {
            try? await Task.sleep(for: due - now)
        }
        guard !speakerStopped else { return }
        execute(state.reevaluateAnnouncements(at: now))
        speakerStopped = true
        speaker.setRoutes([:])
        await speaker.stop(reason: reason)
        // BFD goes last. RFC 5882 §3.2 has a client with its own liveness check (BGP's hold timer)
        // ignore AdminDown, so either order keeps a conforming router from calling it a failure;
        // Cease first also holds for one that does not (BIRD 2.0.12 ends BGP with "BFD session
        // down" on a peer's AdminDown), so the router logs the shutdown text. Stopping sends
        // AdminDown for a detection time.
        await bfd?.shutdown()
    }

    // MARK: - Flow sharing (stateful services)

    /// Where store writes (purges, reports) go; set by the flow-sync executor.
    func setStoreOutbox(_ outbox: AsyncStream<[FlowStoreWrite]>.Continuation) { storeOutbox = outbox }

    /// Datapath reports: resets are removed here, and every report becomes a store write.
    func flowReportsArrived(_ events: [sy_flow_event]) {
        execute(state.flowReportsArrived(events.compactMap(\.report)))
    }

    /// Records from other nodes or the store; returns how many were for this node to install.
    @discardableResult
    func flowRecordsArrived(_ records: [FlowRecord]) -> Int {
        let actions = state.flowRecordsArrived(records)
        execute(actions)
        return actions.reduce(0) { if case .installFlows(let f) = $1 { $0 + f.count } else { $0 } }
    }

    /// This node's own live entries of stateful services, as store writes.
    func ownEntriesForStore() -> [FlowStoreWrite] {
        var flows: [ScannedFlow] = []
        do {
            try writer.flowTable.scan { key, entry, flags in
                flows.append(ScannedFlow(key: key, entry: entry, flags: flags))
            }
        } catch {
            logger.error("could not read the flow table", metadata: ["error": "\(error)"])
        }
        return state.ownEntryWrites(flows)
    }

    /// The store's entries are in the flow table: stateful VIPs may be announced.
    func flowStoreLoaded() {
        execute(state.flowStoreWasLoaded())
    }

    func storeReachable(_ reachable: Bool) {
        execute(reachable ? state.storeBecameReachable() : state.storeLost())
    }

    func noteFlowSync(_ counts: FlowSyncStateMachine.Counts) { flowSyncCounts = counts }

    // MARK: - Status

    public func status() async throws -> AgentStatus {
        let peers = await speaker?.status() ?? []
        let bfdSessions = await bfd?.status() ?? []
        let reader = CounterReader(datapath: datapath)
        let ids = state.countedIDs
        let runtime = AgentRuntime(
            xdpMode: xdpMode?.rawValue, reusedPinnedMaps: datapath.reusedPinnedMaps,
            configSource: source.description)
        return state.status(
            counters: try reader.read(services: ids.services, backends: ids.backends),
            events: try reader.events(), runtime: runtime, flowSync: flowSyncCounts,
            bgpPeers: peers.map { peer in
                let path = bfdSessions.first { $0.peer.peerAddress == peer.peerAddress }
                return AgentBGP.status(peer, asn: peerASNs[peer.peer] ?? 0, bfd: path.map(AgentBFD.status))
            })
    }

    /// Prometheus text exposition of the datapath counters and the agent's own.
    public func metricsText() async throws -> [UInt8] {
        try metrics.render(try await status())
    }

    // MARK: - The executor

    /// Carries out actions in order; each outcome is fed back and its actions run next.
    private func execute(_ initial: [AgentAction]) {
        var queue = initial
        var next = 0
        while next < queue.count {
            let action = queue[next]
            next += 1
            queue += perform(action)
        }
    }

    private func perform(_ action: AgentAction) -> [AgentAction] {
        switch action {
        case .program(let tables, _):
            do {
                let c = try writer.apply(tables)
                return state.programmed(
                    ProgrammingResult(
                        ringsSwapped: c.ringsSwapped, servicesWritten: c.servicesWritten,
                        servicesRemoved: c.servicesRemoved, backendsWritten: c.backendsWritten))
            } catch {
                if programmingError == nil { programmingError = "\(error)" }
                return state.programmingFailed(error: "\(error)")
            }
        case .persistAllocation(let allocation):
            do {
                try AllocationFile.save(allocation, stateDirectory)
                return state.allocationPersisted()
            } catch {
                return state.allocationPersistFailed(error: "\(error)")
            }
        case .purgeFlows(let backends):
            var flows: [ScannedFlow] = []
            do {
                try writer.flowTable.scan { key, entry, flags in
                    if backends.contains(entry.backend) {
                        flows.append(ScannedFlow(key: key, entry: entry, flags: flags))
                    }
                }
                try writer.removeFlows(flows.map(\.key))
                return state.flowsPurged(flows, backends: backends)
            } catch {
                return state.purgeFailed(error: "\(error)")
            }
        case .removeFlows(let keys):
            do { try writer.removeFlows(keys) } catch {
                logger.error("could not remove reset flows", metadata: ["error": "\(error)", "count": "\(keys.count)"])
            }
            return []
        case .installFlows(let flows):
            do {
                let r = try writer.install(flows: flows, remote: true)
                return state.flowsInstalled(FlowInstallResult(written: r.written, present: r.present, busy: r.busy))
            } catch {
                return state.installFailed(error: "\(error)", count: flows.count)
            }
        case .keepOwnFlows(let flows):
            do {
                let r = try writer.keepOwn(flows: flows)
                return state.ownFlowsKept(FlowInstallResult(written: r.written, present: r.present, busy: r.busy))
            } catch {
                return state.installFailed(error: "\(error)", count: flows.count)
            }
        case .writeStore(let writes):
            storeOutbox?.yield(writes)
            return []
        case .runProbes(let targets):
            probeSink.yield(targets)
            return []
        case .announce(let routes):
            if !speakerStopped { speaker?.setRoutes(AgentBGP.routes(routes)) }
            return []
        case .armTimer(let timer, let delay):
            timerSink.yield((timer, delay))
            return []
        case .log(let record):
            logger.log(record)
            return []
        }
    }
}

public enum AgentError: Error, CustomStringConvertible {
    case programming(String)
    public var description: String {
        switch self {
        case .programming(let error): "could not program the datapath: \(error)"
        }
    }
}

extension Logger {
    /// One state machine log record as one structured line.
    func log(_ record: AgentLogRecord) {
        let level: Logger.Level =
            switch record.level {
            case .debug: .debug
            case .info: .info
            case .notice: .notice
            case .warning: .warning
            case .error: .error
            }
        log(level: level, "\(record.message)", metadata: record.metadata.mapValues { .string($0) })
    }
}
