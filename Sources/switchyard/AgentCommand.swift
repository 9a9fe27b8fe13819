import ArgumentParser
import Foundation
import Logging
import SwitchyardAgent
import SwitchyardConfig
import SwitchyardControl
import SwitchyardCore
import SwitchyardDatapath
import SwitchyardKubeClient
import SwitchyardKubeNode
import SwitchyardKubernetes

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract:
            "Run the LB-node agent: program and attach the datapath, health-check, serve metrics and the admin API.",
        discussion: """
            Reloads on SIGHUP and when the file changes (a bad file keeps the running config and logs every
            error). With node.bgp, SIGTERM first drains (VIPs re-announced with GRACEFUL_SHUTDOWN for
            node.bgp.drainSeconds, then withdrawn) and closes the BGP sessions. The agent exits leaving the
            datapath attached and its maps pinned; a new agent takes over the live maps. Logs: one
            structured line per state change, on stderr.
            """)

    @Option(help: "The YAML config file (with --kubernetes: the node's settings, services: []).") var config: String
    @Flag(help: "Take services from Kubernetes: Services of the class with an address, and their EndpointSlices.")
    var kubernetes = false
    @OptionGroup(title: "With --kubernetes") var access: KubeAccessOptions
    @OptionGroup(title: "With --kubernetes") var serviceClass: ServiceClassOptions

    func run() async throws {
        if !kubernetes, case .failure(let errors) = ConfigLoader.load(path: config) {
            for error in errors.errors { printError(error.description) }
            throw ExitCode(1)
        }
        if let reason = Privileges.bpfUnavailableReason() {
            printError("agent: \(reason)")
            throw ExitCode(2)
        }
        guard kubernetes else {
            try await AgentRunner.main(configPath: config)
            return
        }
        StructuredLogHandler.bootstrap()
        let logger = Logger(label: "switchyard.agent")
        let connection = try access.connection(for: "agent")
        let client = try KubeClient(connection: connection)
        let watcher = ClusterWatcher(client: client, logger: logger)
        let feed = Task { await watcher.run() }
        defer { feed.cancel() }
        let translator = LBServiceTranslator(configuration: serviceClass.allocator())
        logger.info("waiting for the cluster's Services", metadata: ["server": "\(connection.server)"])
        let source = KubernetesConfigSource(
            nodeFile: config, watcher: watcher, translator: translator, server: connection.server,
            nodeName: ProcessInfo.processInfo.environment["NODE_NAME"],
            nodeAddress: ProcessInfo.processInfo.environment["NODE_IP"].flatMap { IPAddress($0) }, logger: logger)
        try await AgentRunner.main(source: source, logger: logger)
        try? await client.shutdown()
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show services, backends, BGP sessions and node info from a running agent's admin API.")

    @Option(help: "The agent's admin socket.") var socket: String = NodeSettings.defaultAdminSocket
    @Option(help: "Take the socket path from this config file.") var config: String?
    @Flag(help: "Print the JSON as received.") var json = false

    func run() throws {
        var path = socket
        if let config, case .success(let c) = ConfigLoader.load(path: config) { path = c.node.adminSocket }
        let data = try AdminClient.request("status", socket: path)
        if json {
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let s = try JSONDecoder().decode(AgentStatus.self, from: data)
        print(
            "node \(s.node): interface \(s.interface ?? "-") (XDP \(s.xdpMode ?? "not attached")), "
                + "pinned maps \(s.reusedPinnedMaps ? "re-used" : "created"), config \(s.configFile)")
        print(
            "  reloads \(s.reloadsOK) ok / \(s.reloadsFailed) failed, rings rebuilt \(s.ringRebuilds), "
                + "programming failures \(s.programmingFailures), id-allocation save failures "
                + "\(s.allocationSaveFailures), removed backends awaiting purge \(s.retiredBackends)")
        if let f = s.flowSharing {
            print(
                "flow store: \(f.store) "
                    + "(\(f.storeReachable ? "reachable" : "UNREACHABLE: forwarding on local entries"))"
            )
            print(
                "  \(f.published) new, \(f.refreshed) refreshed, \(f.ended) ended, \(f.purged) purged; "
                    + "\(f.installed) installed, \(f.extended) extended, \(f.unresolved) unresolved, "
                    + "\(f.busy) to the overflow (busy sets); own flows with no way kept: "
                    + "\(f.ownPlaced) in a way, \(f.ownOverflow) in the overflow"
            )
            print(
                "  \(f.pending) pending, \(f.dropped) dropped, \(f.retried) retried (redirected), "
                    + "\(f.refused) refused by the store, \(f.storeFailures) failed attempts; "
                    + "\(f.recoveries) recoveries re-wrote \(f.rewritten) own entries")
            if !f.storeErrors.isEmpty {
                let kinds = f.storeErrors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                print("  store error replies: " + kinds.joined(separator: ", "))
            }
        }
        for service in s.services {
            print(
                "\n\(service.key)  \(service.name)  \(service.mode), key \(service.flowKey), "
                    + "\(service.encap): packets \(service.packets), new flows \(service.newFlows), "
                    + "too-big \(service.tooBig)"
            )
            let header = ["backend", "weight", "config", "health", "state", "packets", "bytes", "flows"]
            let rows = service.backends.map { b in
                [
                    b.address.contains(":") ? "[\(b.address)]:\(b.port)" : "\(b.address):\(b.port)", "\(b.weight)",
                    b.configured,
                    b.health ?? "-", b.effective, "\(b.packets)", "\(b.bytes)", "\(b.newFlows)",
                ]
            }
            let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max()! + 2 }
            for row in [header] + rows {
                print("  " + zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined())
            }
        }
        if let bgp = s.bgp {
            print("")
            for line in bgp.lines { print(line) }
        }
        let drops = s.drops.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        print("\ndrops: \(drops.isEmpty ? "none" : drops.joined(separator: ", "))")
    }
}

/// One request to the admin socket: a command line out, a JSON document back.
enum AdminClient {
    static func request(_ command: String, socket path: String) throws -> Data {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CommandFailure("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            throw CommandFailure("cannot reach the agent at \(path): \(reason); is `switchyard agent` running?")
        }
        _ = (command + "\n").withCString { write(fd, $0, strlen($0)) }
        var result = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            result.append(contentsOf: buffer[0..<n])
        }
        return result
    }
}
