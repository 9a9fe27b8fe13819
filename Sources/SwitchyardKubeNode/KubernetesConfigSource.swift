import Foundation
import Logging
import SwitchyardAgent
import SwitchyardConfig
import SwitchyardCore
import SwitchyardKubernetes

/// The LB agent's desired state in Kubernetes mode: the node's own settings from its file (`services: []`),
/// the services from the API — every Service of the class with an address, one service per (address, port,
/// protocol), backends from its EndpointSlices. Feeds the agent exactly as the file source does, so health
/// checks, stateful mode, BGP and status work unchanged.
public struct KubernetesConfigSource: ConfigSource {
    public let nodeFile: String
    public let watcher: ClusterWatcher
    public let translator: LBServiceTranslator
    public let server: String
    /// The node's name when the file gives none (a DaemonSet's one file for every node: `$NODE_NAME`).
    public let nodeName: String?
    /// The node's address (`$NODE_IP`, the Pod's `status.hostIP`): its family's tunnel source when the file
    /// gives none.
    public let nodeAddress: IPAddress?
    let logger: Logger

    public init(
        nodeFile: String, watcher: ClusterWatcher, translator: LBServiceTranslator, server: String,
        nodeName: String? = nil, nodeAddress: IPAddress? = nil, logger: Logger
    ) {
        self.nodeAddress = nodeAddress
        self.nodeName = nodeName
        self.nodeFile = nodeFile
        self.watcher = watcher
        self.translator = translator
        self.server = server
        self.logger = logger
    }

    public var description: String { "\(nodeFile) + kubernetes \(server)" }

    public func load() async -> Result<SwitchyardConfig, ConfigSourceError> {
        // The file alone must be valid (it is the node's part); then the Services are added to its spec.
        let spec: ConfigSpec
        switch ConfigLoader.loadWithSpec(path: nodeFile, adjust: fillIn) {
        case .success(let read): spec = read.spec
        case .failure(let errors): return .failure(ConfigSourceError(problems: errors.errors.map(\.description)))
        }
        await watcher.synced()
        let translated = translator.translate(await watcher.objects)
        let assembly = NodeConfigAssembler.assemble(node: spec, services: translated)
        for (key, problems) in assembly.skipped.sorted(by: { $0.key < $1.key }) {
            logger.warning(
                "service left out", metadata: ["service": "\(key)", "problems": "\(problems.joined(separator: "; "))"])
        }
        for (key, problems) in assembly.warnings.sorted(by: { $0.key < $1.key }) where assembly.skipped[key] == nil {
            logger.notice(
                "service partly used",
                metadata: ["service": "\(key)", "problems": "\(problems.joined(separator: "; "))"])
        }
        guard let config = assembly.config else {
            return .failure(ConfigSourceError(problems: assembly.nodeProblems.map { "\(nodeFile): \($0)" }))
        }
        return .success(config)
    }

    /// What the file may leave to the environment.
    func fillIn(_ spec: inout ConfigSpec) {
        if let nodeName, spec.node?.name == nil { spec.node?.name = nodeName }
        switch nodeAddress?.family {
        case .v4? where spec.node?.ipv4Source == nil: spec.node?.ipv4Source = nodeAddress?.description
        case .v6? where spec.node?.ipv6Source == nil: spec.node?.ipv6Source = nodeAddress?.description
        default: break
        }
    }

    /// The node file's changes and the cluster's, one stream (a burst of cluster changes is one reload).
    public func watch(_ changed: @Sendable (String) async -> Void) async {
        let (triggers, feed) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(4))
        let cluster = await watcher.subscribe()
        let file = FileConfigSource(path: nodeFile)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await file.watch { trigger in feed.yield(trigger) } }
            group.addTask {
                for await trigger in cluster { feed.yield(trigger) }
            }
            for await trigger in triggers { await changed(trigger) }
            group.cancelAll()
        }
    }
}
