import Foundation
import Logging
import ServiceLifecycle
import SwitchyardConfig
import SwitchyardControl
import SwitchyardCore
import SwitchyardStore
import UnixSignals

/// Runs the agent until SIGTERM/SIGINT: programs and attaches the datapath, then probes, speaks
/// BGP, serves metrics and the admin API, and reloads on SIGHUP or when the file changes.
/// Shutting down drains (GRACEFUL_SHUTDOWN for `node.bgp.drainSeconds`), withdraws, closes the
/// BGP sessions, and leaves the XDP program attached and the maps pinned: forwarding continues
/// without the agent, and the next agent takes over the live maps.
public struct AgentRunner: ServiceLifecycle.Service {
    let agent: Agent
    let store: (any FlowStore)?
    let logger: Logger

    public static func start(source: any ConfigSource, logger: Logger) async throws -> AgentRunner {
        let config = try await source.load().get()
        let agent = try Agent(source: source, config: config, logger: logger)
        try await agent.program()
        // Stateful: load the store's flows before taking traffic, so the first packet of a moved
        // connection already finds its entry. A dead store delays nothing: Maglev and local entries.
        let store = try makeFlowStore(config)
        if let store {
            if let embedded = store as? EmbeddedFlowStore {
                let report = await embedded.loadReport
                if report.malformed > 0 {
                    logger.warning(
                        "flow journal had malformed lines; skipped",
                        metadata: [
                            "malformed": "\(report.malformed)", "first": "\(report.firstMalformed ?? "")",
                        ])
                }
            }
            do {
                let records = try await store.snapshot()
                let installed = await agent.flowRecordsArrived(records)
                await agent.flowStoreLoaded()
                logger.info(
                    "flows loaded from the store",
                    metadata: [
                        "store": "\(store.description)", "records": "\(records.count)", "installed": "\(installed)",
                    ])
            } catch {
                await agent.storeReachable(false)
                logger.error(
                    "flow store unreachable at start; forwarding on Maglev and local entries",
                    metadata: ["store": "\(store.description)", "error": "\(error)"])
            }
        }
        try await agent.attach()
        return AgentRunner(agent: agent, store: store, logger: logger)
    }

    /// The store stateful services share flows through, if any.
    static func makeFlowStore(_ config: SwitchyardConfig) throws -> (any FlowStore)? {
        guard let settings = AgentState.flowStoreSettings(config) else { return nil }
        switch settings.kind {
        case .redis, .redisSentinel: return try RedisFlowStore(settings: settings)
        case .redisCluster: return try RedisClusterFlowStore(settings: settings)
        case .embedded:
            return try EmbeddedFlowStore(
                path: AgentState.journalPath(settings, node: config.node),
                maxEntries: settings.maxEntries)
        }
    }

    public func run() async throws {
        let config = await agent.config
        let source = agent.source
        let leaving = "switchyard agent shutting down"
        await agent.startBGP()
        do {
            try await serve(config: config, source: source, leaving: leaving)
        } catch {
            // Still leave routing cleanly: the routers must not keep sending to a node whose
            // agent died, until its hold timer runs out.
            await agent.leaveRouting(reason: "switchyard agent failed")
            await agent.stopNextHopWatcher()
            throw error
        }
        await agent.leaveRouting(reason: leaving)
        await agent.stopNextHopWatcher()
        await store?.close()
    }

    private func serve(config: SwitchyardConfig, source: any ConfigSource, leaving: String) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await AdminServer(agent: agent, path: config.node.adminSocket, logger: logger).run() }
            group.addTask {
                try await MetricsServer(agent: agent, address: config.node.metricsAddress, logger: logger).run()
            }
            group.addTask { await HealthProbeLoop(agent: agent).run() }
            group.addTask { await AgentTimers(agent: agent).run() }
            group.addTask { for await _ in agent.bfdPathWakeups { await agent.applyBFDPathChanges() } }
            if let store {
                // The store's connection lives in this group; writes wait for it.
                group.addTask { try await store.run() }
                group.addTask { await FlowSync(agent: agent, store: store, logger: logger).run() }
            }
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sighup) {
                    await agent.reload(trigger: "SIGHUP")
                }
            }
            group.addTask { await source.watch { trigger in await agent.reload(trigger: trigger) } }
            group.addTask {
                try await gracefulShutdown()
                logger.info(
                    "shutting down; the datapath stays attached and pinned", metadata: ["node": "\(config.node.name)"])
                // Routers move traffic away before the sessions close; forwarding never stops.
                await agent.leaveRouting(reason: leaving)
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// The whole process: structured logs, the runner under a service group that handles SIGTERM.
    public static func main(configPath: String) async throws {
        StructuredLogHandler.bootstrap()
        try await main(source: FileConfigSource(path: configPath), logger: Logger(label: "switchyard.agent"))
    }

    /// The same with any source (Kubernetes mode); the caller bootstraps logging.
    public static func main(source: any ConfigSource, logger: Logger) async throws {
        let runner = try await start(source: source, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: runner, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Sleeps for each timer the agent's state machine arms and reports it when due.
struct AgentTimers {
    let agent: Agent

    func run() async {
        await withTaskGroup(of: Void.self) { group in
            for await (timer, delay) in agent.timerRequests {
                group.addTask {
                    try? await Task.sleep(for: delay)
                    guard !Task.isCancelled else { return }
                    await agent.timerFired(timer)
                }
            }
            group.cancelAll()
        }
    }
}
