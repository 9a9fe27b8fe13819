import ArgumentParser
import Foundation
import Logging
import SwitchyardAgent
import SwitchyardDatapath
import SwitchyardKubeClient
import SwitchyardKubeNode
import SwitchyardKubernetes
import SwitchyardNet

struct EndpointAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "endpoint-agent",
        abstract: "Make this workload node's pods DSR backends of Switchyard Services (Kubernetes).",
        discussion: """
            Watches Services of Switchyard's class and their EndpointSlices. For every endpoint on this node
            (ready, serving or terminating) it finds the pod's network namespace by the pod's address among the
            bind-mounted namespaces the runtime keeps (containerd: /var/run/netns/cni-<uuid>; CRI-O:
            /var/run/netns/<uuid>) and inside it puts the Service's addresses on lo, attaches the decap program
            (tc ingress) and the port-mapping program (tc egress), turns rp_filter off and lowers the MSS of
            replies so encapsulated packets fit. It undoes that when the endpoint goes. What it did is kept in a
            state file and the programs are pinned per pod, so a restarted agent leaves working pods untouched.
            """)

    @OptionGroup var access: KubeAccessOptions
    @Option(help: "This node's name, as EndpointSlices give it (default: $NODE_NAME).") var nodeName: String?
    @Option(help: "Where the runtime bind-mounts pod network namespaces.") var netnsDir = "/var/run/netns"
    @Option(help: "Only namespaces whose file name starts with this.") var netnsPrefix: String?
    @Option(help: "bpffs directory for the per-pod pins.") var pinDirectory = "/sys/fs/bpf/switchyard/pods"
    @Option(help: "What this agent set up, for its next start.")
    var stateFile = "/var/lib/switchyard/endpoint-agent.json"
    @Option(help: "Also decapsulate GUE on this UDP port (0: IPIP and IPv6-in-IPv6 only).") var guePort: UInt16 = 0
    @Option(help: "Path MTU between clients and LB nodes; replies' MSS is derived from it.") var pathMTU = 1500
    @OptionGroup var serviceClass: ServiceClassOptions
    @Option(help: "host:port for /metrics and /healthz ('' = none).") var metrics = "[::]:9401"

    func run() async throws {
        guard let node = nodeName ?? ProcessInfo.processInfo.environment["NODE_NAME"], !node.isEmpty else {
            printError("endpoint-agent: --node-name or $NODE_NAME is required")
            throw ExitCode(1)
        }
        if let reason = Privileges.bpfUnavailableReason() {
            printError("endpoint-agent: \(reason)")
            throw ExitCode(2)
        }
        StructuredLogHandler.bootstrap()
        let logger = Logger(label: "switchyard.endpoint-agent")
        let connection = try access.connection(for: "endpoint-agent")
        let client = try KubeClient(connection: connection)
        let watcher = ClusterWatcher(client: client, logger: logger)
        let network = PodDSRNetwork(
            namespaceDirectory: netnsDir, namePrefix: netnsPrefix, pinDirectory: pinDirectory,
            guePort: guePort == 0 ? nil : guePort, pathMTU: pathMTU, logger: logger)
        for path in network.removeStalePins() {
            logger.info("pins of a pod gone while no agent ran removed", metadata: ["pins": "\(path)"])
        }
        let translator = LBServiceTranslator(configuration: serviceClass.allocator())
        let agent = EndpointAgent(
            watcher: watcher, planner: PodPlanner(nodeName: node, translator: translator), network: network,
            stateFile: stateFile, logger: logger)
        logger.info(
            "endpoint agent starting",
            metadata: ["node": "\(node)", "server": "\(connection.server)", "netns": "\(netnsDir)"])
        let metricsAddress = metrics
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await watcher.run() }
            group.addTask { await agent.run() }
            if !metricsAddress.isEmpty {
                group.addTask {
                    do {
                        try await MetricsEndpoint(address: metricsAddress, logger: logger) {
                            await agent.prometheusText
                        }.run()
                    } catch {
                        logger.error("metrics endpoint failed", metadata: ["error": "\(error)"])
                    }
                }
            }
            group.addTask { await TerminationSignal.wait() }
            await group.next()
            group.cancelAll()
        }
        logger.info("endpoint agent stopped; pods keep their setup", metadata: ["node": "\(node)"])
        try? await client.shutdown()
    }
}

/// The endpoint agent's child: one pod's setup or cleanup (a `PodDSRRequest` on stdin, the outcome as JSON on
/// stdout), in a process of its own so no thread of the agent is ever left inside a pod's namespace.
struct PodDSRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pod-dsr", abstract: "Set up or clean up one pod (the endpoint agent's child).",
        shouldDisplay: false)

    func run() throws {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        let request = try JSONDecoder().decode(PodDSRRequest.self, from: data)
        let plan = try request.plan()
        let outcome: PodDSRRequest.Outcome
        switch request.operation {
        case .apply:
            let applied = try PodDSR.apply(plan)
            outcome = .init(changes: applied.changes, warnings: applied.warnings)
        case .remove:
            outcome = .init(changes: try PodDSR.remove(plan), warnings: [])
        }
        FileHandle.standardOutput.write(try JSONEncoder().encode(outcome))
    }
}
