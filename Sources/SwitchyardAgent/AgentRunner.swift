import Foundation
import Logging
import ServiceLifecycle
import SwitchyardConfig
import SwitchyardCore
import SwitchyardStore
import UnixSignals

/// Runs the agent until SIGTERM/SIGINT: programs and attaches the datapath, then probes, serves
/// metrics and the admin API, and reloads on SIGHUP or when the file changes. Shutting down
/// leaves the XDP program attached and the maps pinned: forwarding continues without the agent,
/// and the next agent takes over the live maps.
public struct AgentRunner: ServiceLifecycle.Service {
    let agent: Agent
    let store: (any FlowStore)?
    let logger: Logger

    public static func start(configPath: String, logger: Logger) async throws -> AgentRunner {
        let config = try ConfigLoader.load(path: configPath).get()
        let agent = try Agent(configPath: configPath, config: config, logger: logger)
        try await agent.program()
        // Stateful: load the store's flows before taking traffic, so the first packet of a moved
        // connection already finds its entry. A dead store delays nothing: Maglev and local entries.
        let store = try Agent.makeFlowStore(config)
        if let store {
            if let embedded = store as? EmbeddedFlowStore {
                let report = await embedded.loadReport
                if report.malformed > 0 {
                    logger.warning("flow journal had malformed lines; skipped", metadata: ["malformed": "\(report.malformed)", "first": "\(report.firstMalformed ?? "")"])
                }
            }
            do {
                let records = try await store.snapshot()
                let installed = await agent.install(records)
                logger.info("flows loaded from the store", metadata: ["store": "\(store.description)", "records": "\(records.count)", "installed": "\(installed)"])
            } catch {
                await agent.noteStore(reachable: false, failures: 1)
                logger.error("flow store unreachable at start; forwarding on Maglev and local entries",
                             metadata: ["store": "\(store.description)", "error": "\(error)"])
            }
        }
        try await agent.attach()
        return AgentRunner(agent: agent, store: store, logger: logger)
    }

    public func run() async throws {
        let config = await agent.config
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await AdminServer(agent: agent, path: config.node.adminSocket, logger: logger).run() }
            group.addTask { try await MetricsServer(agent: agent, address: config.node.metricsAddress, logger: logger).run() }
            group.addTask { await HealthProbeLoop(agent: agent).run() }
            if let store {
                group.addTask { await FlowSync(agent: agent, store: store, logger: logger).run() }
            }
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sighup) {
                    await agent.reload(trigger: "SIGHUP")
                }
            }
            group.addTask { await watchFile(config: config) }
            group.addTask {
                try await gracefulShutdown()
                logger.info("shutting down; the datapath stays attached and pinned", metadata: ["node": "\(config.node.name)"])
            }
            try await group.next()
            group.cancelAll()
        }
        await store?.close()
    }

    /// Reloads when the config file's modification time or size changes.
    private func watchFile(config: SwitchyardConfig) async {
        func stamp() -> String? {
            guard let a = try? FileManager.default.attributesOfItem(atPath: agent.configPath) else { return nil }
            return "\(a[.modificationDate] ?? "")|\(a[.size] ?? "")"
        }
        var last = stamp()
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(500))
            let now = stamp()
            if now != last {
                last = now
                await agent.reload(trigger: "file changed")
            }
        }
    }

    /// The whole process: structured logs, the runner under a service group that handles SIGTERM.
    public static func main(configPath: String) async throws {
        StructuredLogHandler.bootstrap()
        let logger = Logger(label: "switchyard.agent")
        let runner = try await start(configPath: configPath, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: runner, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
