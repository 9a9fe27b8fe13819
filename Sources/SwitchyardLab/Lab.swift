import Foundation
import SwitchyardControl
import SwitchyardCore
import SwitchyardDatapath
import Synchronization

/// A whole Switchyard deployment in network namespaces on this machine: a client, a router
/// (ECMP over the LB nodes, true 5-tuple hash), LB nodes running the real agent and XDP
/// datapath, backends running `switchyard backend` and real servers.
///
///     client ── router ── br0 (fabric, MTU 1600) ── lb1 lb2 lb3   (XDP on eth0, agent)
///     10.77.1.2   .1      10.77.2.1                 .11 .12 .13
///                                                ── be1 be2 be3 be4 (tc decap, VIP on lo)
///                                                   .21 .22 .23 .24
///     VIPs 10.77.100.10:80, [fd77:100::10]:80 — routes to lb1+lb2 (lb3 stands by)
///
/// Every name carries the lab's prefix `sy<hex>`; everything lives under /tmp/switchyard-lab-<hex>.
/// Nothing is addressed or routed in the host namespace: links are created inside namespaces.
public final class Lab: @unchecked Sendable {
    public struct Options: Sendable {
        public var mode: ServiceMode = .stateless
        /// Stateful mode's store: shared by the LB nodes and run in the router namespace (one Redis,
        /// a Redis Cluster of three primaries with a replica each, or a primary and replica under
        /// three Sentinels; `Lab+Store`), or each node's embedded journal — then only lb1 takes
        /// traffic, as the embedded store is for one node.
        public var store: FlowStoreSettings.Kind = .redis
        /// The shared store speaks TLS only: the lab makes a CA and certificates, the agents get
        /// `flowStore.tls`.
        public var storeTLS = false
        public var lbNodes = 3
        public var backends = 4
        /// Small, so the flood scenario (~75,000 spoofed SYNs per LB node in 5 s) overruns it while
        /// its flood entries are still too fresh to evict: the busy-set rule must then protect the
        /// live connections. bench-sync uses a production-sized table.
        public var flowTableCapacity = 16384
        /// Scenarios: fill every LB node's flow table to this fraction of `flowTableCapacity`
        /// with crafted background flows before the connections open (`BackgroundFlowFill`).
        public var backgroundFill: Double?
        /// Two-tier: the client reaches the VIPs through an upstream router that learns one
        /// aggregate per VIP range from the router (BGP routing only; `LabTopology`).
        public var topology: LabTopology = .flat
        public var ecmp = [1, 2]
        public var inConfig = [1, 2, 3]
        /// How the router learns the ECMP group: written by the lab, or by BGP from the agents.
        public var routing: LabRouting = .bgp(router: .bird)
        /// `lab up --kubernetes` (`Lab+Kubernetes`): workers with pods instead of backends, Services
        /// from a Kubernetes API server.
        public var kubernetes = false
        public var workers = 2
        /// With `kubernetes`: LB-node agents with `--kubernetes` (off: they run with no services),
        /// and endpoint agents on the workers (off: none). Both off leaves the topology, the
        /// control plane, pods and slices alone.
        public var kubernetesAgents = true
        public var endpointAgents = true
        public init(
            mode: ServiceMode = .stateless, store: FlowStoreSettings.Kind = .redis,
            routing: LabRouting = .bgp(router: .bird)
        ) {
            self.mode = mode
            self.store = store
            self.routing = routing
            if mode == .stateful && store == .embedded { ecmp = [1] }
        }
        /// The LB nodes share a store the lab runs (any kind but embedded).
        var sharedStore: Bool { mode == .stateful && store != .embedded }
    }

    public static let vip4 = "10.77.100.10", vip6 = "fd77:100::10", port = 80
    /// `lab bench`: a VIP served by be1 alone, and an address the baseline routes to be1 plainly.
    public static let benchVIP = "10.77.100.20", baselineAddress = "10.77.100.21"
    public static let dirPrefix = "/tmp/switchyard-lab-"

    public let id: String
    public let options: Options
    public let executable: String
    public var dir: String { Self.dirPrefix + id }
    public var prefix: String { "sy\(id)" }
    public var client: String { "\(prefix)-client" }
    public var router: String { "\(prefix)-router" }
    public var upstream: String { "\(prefix)-upstream" }
    /// The namespace the client's link ends in: the router, or the upstream router (two-tier).
    var edge: String { options.topology == .twoTier ? upstream : router }
    public func lb(_ i: Int) -> String { "\(prefix)-lb\(i)" }
    public func be(_ j: Int) -> String { "\(prefix)-be\(j)" }
    public internal(set) var ecmp: [Int]
    /// BGP routing: the LB nodes whose agents were told to drain (and have not restarted since).
    public internal(set) var drained: Set<Int> = []
    public private(set) var backendStates: [Int: BackendState] = [:]
    /// `--kubernetes`: the pods the lab runs, and each Service's address once the controller
    /// assigned it (what the LB nodes announce).
    public internal(set) var cluster: KubernetesLabCluster
    public internal(set) var serviceAddresses: [String: String] = [:]
    /// Held while a command that builds or changes the lab runs; see `interrupt()`.
    private let gate = NSLock()
    private let interrupted = Atomic<Bool>(false)

    public init(options: Options = Options(), executable: String) {
        id = String(format: "%06x", UInt32.random(in: 0...0xffffff))
        self.options = options
        self.executable = executable
        ecmp = options.ecmp
        cluster = KubernetesLabCluster(workers: options.workers)
        for j in options.inConfig { backendStates[j] = .up }
    }

    func log(_ text: String) { FileHandle.standardError.write(Data("lab \(id): \(text)\n".utf8)) }

    @discardableResult
    func sh(_ argv: [String]) throws -> String { try gated { try NetworkNamespace.run(argv) } }

    /// Runs `body` unless the lab was interrupted (then throws): nothing starts building once
    /// the teardown may have listed what to remove.
    func gated<T>(_ body: () throws -> T) throws -> T {
        gate.lock()
        defer { gate.unlock() }
        guard !interrupted.load(ordering: .acquiring) else {
            throw NetworkNamespace.CommandError(description: "lab \(id) was interrupted and is being removed")
        }
        return try body()
    }

    /// Before `down()` when the lab is being removed, possibly from another thread while this
    /// one still builds (Ctrl-C): commands not yet started refuse to run, and the one in flight
    /// (a namespace being added, a process spawned) is waited for, up to `patience` seconds, so
    /// the teardown sees what it made.
    public func interrupt(patience: Double = 10) {
        interrupted.store(true, ordering: .releasing)
        if gate.lock(before: Date().addingTimeInterval(patience)) { gate.unlock() }
    }
    @discardableResult
    func inNS(_ ns: String, _ argv: [String]) throws -> String { try sh(["ip", "netns", "exec", ns] + argv) }
    func sysctl(_ ns: String, _ pairs: [String: String]) throws {
        for (k, v) in pairs.sorted(by: { $0.key < $1.key }) { try inNS(ns, ["sysctl", "-qw", "\(k)=\(v)"]) }
    }

    /// Starts a long-running process inside a namespace, in its own session, logging to a file.
    @discardableResult
    func spawn(_ ns: String, _ argv: [String], log name: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = ["ip", "netns", "exec", ns] + argv
        // Appended to: a restarted process's log follows its predecessor's.
        let path = "\(dir)/\(name).log"
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let log = FileHandle(forWritingAtPath: path) else {
            throw NetworkNamespace.CommandError(description: "cannot open \(path) to log \(argv.first ?? "") in \(ns)")
        }
        try log.seekToEnd()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try gated { try process.run() }
        return process
    }

    // MARK: - Building

    public func up() throws {
        try FileManager.default.createDirectory(atPath: "\(dir)/state", withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: ["id": id, "prefix": prefix]).write(
            to: URL(fileURLWithPath: "\(dir)/lab.json"))
        try gated { try BPFFS.ensureMounted("\(dir)/bpffs") }
        log("building in namespaces \(prefix)-*")
        let upstreams = options.topology == .twoTier ? [upstream] : []
        let hosts = [client, router] + upstreams + (1...options.lbNodes).map(lb) + backendIndices.map(be)
        for ns in hosts + workerIndices.map(worker) {
            _ = try gated { try NetworkNamespace(exactName: ns) }
            try sysctl(ns, ["net.ipv6.conf.all.accept_dad": "0", "net.ipv6.conf.default.accept_dad": "0"])
        }
        // Router: a bridge for the fabric, a link to the client.
        try inNS(router, ["ip", "link", "add", "br0", "type", "bridge"])
        try inNS(router, ["ip", "link", "set", "br0", "mtu", "1600", "up"])
        try inNS(router, ["ip", "addr", "add", "10.77.2.1/24", "dev", "br0"])
        try inNS(router, ["ip", "addr", "add", "fd77:2::1/64", "dev", "br0", "nodad"])
        try sh(["ip", "-n", edge, "link", "add", "cl0", "type", "veth", "peer", "name", "eth0", "netns", client])
        try inNS(edge, ["ip", "addr", "add", "10.77.1.1/24", "dev", "cl0"])
        try inNS(edge, ["ip", "addr", "add", "fd77:1::1/64", "dev", "cl0", "nodad"])
        try inNS(edge, ["ip", "link", "set", "cl0", "up"])
        try inNS(client, ["ip", "addr", "add", "10.77.1.2/24", "dev", "eth0"])
        try inNS(client, ["ip", "addr", "add", "fd77:1::2/64", "dev", "eth0", "nodad"])
        try inNS(client, ["ip", "link", "set", "eth0", "up"])
        try inNS(client, ["ip", "route", "add", "default", "via", "10.77.1.1"])
        try inNS(client, ["ip", "-6", "route", "add", "default", "via", "fd77:1::1"])
        // A real NIC completes checksums on the wire; veth leaves them partial, which native XDP
        // cannot carry. Turn TX offload off on every lab link (NOTES: XDP on veth).
        try inNS(client, ["ethtool", "-K", "eth0", "tx", "off"])
        try inNS(edge, ["ethtool", "-K", "cl0", "tx", "off"])
        if options.topology == .twoTier { try linkUpstream() }
        try sysctl(
            router,
            [
                "net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1",
                "net.ipv4.conf.all.rp_filter": "0", "net.ipv4.conf.default.rp_filter": "0",
                "net.ipv4.fib_multipath_hash_policy": "3", "net.ipv4.fib_multipath_hash_fields": "0x37",
                "net.ipv6.fib_multipath_hash_policy": "3", "net.ipv6.fib_multipath_hash_fields": "0x37",
            ])
        for (host, address, port) in (1...options.lbNodes).map({ (lb($0), 10 + $0, "l\($0)") })
            + backendIndices.map({ (be($0), 20 + $0, "b\($0)") })
            + workerIndices.map({ (worker($0), 30 + $0, "w\($0)") })
        {
            try sh(["ip", "-n", router, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", host])
            try inNS(router, ["ip", "link", "set", port, "mtu", "1600", "master", "br0", "up"])
            try inNS(router, ["ethtool", "-K", port, "tx", "off"])
            try inNS(host, ["ip", "link", "set", "eth0", "mtu", "1600", "up"])
            try inNS(host, ["ethtool", "-K", "eth0", "tx", "off"])
            try inNS(host, ["ip", "addr", "add", "10.77.2.\(address)/24", "dev", "eth0"])
            try inNS(host, ["ip", "addr", "add", "fd77:2::\(address)/64", "dev", "eth0", "nodad"])
            try inNS(host, ["ip", "route", "add", "default", "via", "10.77.2.1"])
            try inNS(host, ["ip", "-6", "route", "add", "default", "via", "fd77:2::1"])
        }
        // XDP_TX on a veth needs a program on its peer: a pass-through on the router's LB ports.
        let pass = try LBDatapath(options: .init(flowCapacity: 64))
        try NetworkNamespace(existingName: router).inside {
            for i in 1...options.lbNodes {
                try XDPAttachment.attach(program: pass.passProgramFD, interface: "l\(i)", requireNative: true)
            }
        }
        if options.sharedStore { try startStore() }
        if let daemon = options.routing.router { try startRouter(daemon) }
        if options.topology == .twoTier { try startUpstream() }
        if options.kubernetes {
            try buildWorkers()
            try startControlPlane()
        }
        for j in backendIndices {
            try spawn(
                be(j), [executable, "lab-server", "--name", "be\(j)", "--port", "\(Self.port)"], log: "be\(j)-server")
            try inNS(
                be(j),
                [executable, "backend", "--vip", "\(Self.vip4),\(Self.vip6),\(Self.benchVIP)", "--interface", "eth0"])
        }
        for i in 1...options.lbNodes {
            // A VIP packet the XDP program passes up must not bounce back to the router.
            try sysctl(lb(i), ["net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1"])
            try inNS(lb(i), ["ip", "route", "add", "blackhole", "\(Self.vip4)/32"])
            try inNS(lb(i), ["ip", "-6", "route", "add", "blackhole", "\(Self.vip6)/128"])
            try inNS(lb(i), ["ip", "route", "add", "blackhole", "\(Self.benchVIP)/32"])
            if options.kubernetes {
                try inNS(lb(i), ["ip", "route", "add", "blackhole", KubernetesLabCluster.poolRange])
            }
            try writeConfig(i)
            try startAgent(i)
        }
        for i in 1...options.lbNodes { try waitForAgent(i) }
        for n in workerIndices where options.endpointAgents { try startEndpointAgent(n) }
        try setECMP(ecmp)
        if options.topology == .twoTier { try waitForAggregates() }
        try waitForServers()
        let workload =
            options.kubernetes ? "\(options.workers) workers (Kubernetes)" : "\(options.backends) backends"
        log(
            "up: \(options.lbNodes) LB nodes (ECMP over "
                + "\(ecmp.map { "lb\($0)" }.joined(separator: ", "))), \(workload), "
                + "mode \(options.mode.rawValue), routing \(options.routing), topology \(options.topology.rawValue)"
        )
    }

    func startAgent(_ i: Int) throws {
        drained.remove(i) // a new agent starts undrained
        try spawn(
            lb(i), [executable, "agent"] + kubernetesAgentArguments + ["--config", "\(dir)/lb\(i).yaml"], log: "lb\(i)")
    }

    /// What lb`i`'s agent reports (`switchyard status --json`), decoded with the admin API's own
    /// type, so a field the lab reads cannot silently disappear from the agent's answer.
    func agentStatus(_ i: Int) throws -> AgentStatus {
        let output = try inNS(lb(i), [executable, "status", "--socket", "\(dir)/lb\(i).sock", "--json"])
        do {
            return try JSONDecoder().decode(AgentStatus.self, from: Data(output.utf8))
        } catch {
            throw NetworkNamespace.CommandError(
                description: "lb\(i)'s status does not decode as AgentStatus (\(error)); rebuild \(executable)")
        }
    }

    func waitForAgent(_ i: Int, timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var lastError: (any Error)?
        while Date() < deadline {
            do {
                _ = try agentStatus(i)
                return
            } catch {
                lastError = error
            }
            usleep(200_000)
        }
        throw NetworkNamespace.CommandError(
            description: "agent lb\(i) did not come up in \(Int(timeout)) s "
                + "(last answer: \(lastError.map { "\($0)" } ?? "none")); see \(dir)/lb\(i).log")
    }

    func waitForPort(_ ns: String, _ port: Int) throws {
        let deadline = Date().addingTimeInterval(10)
        while (try? inNS(ns, ["ss", "-Hltn", "sport = :\(port)"]))?.isEmpty ?? true {
            guard Date() < deadline else {
                throw NetworkNamespace.CommandError(description: "nothing listens on :\(port) in \(ns); see \(dir)")
            }
            usleep(100_000)
        }
    }

    func waitForServers() throws {
        for j in backendIndices {
            let deadline = Date().addingTimeInterval(10)
            while (try? inNS(be(j), ["ss", "-Hltn", "sport = :\(Self.port)"]))?.isEmpty ?? true {
                guard Date() < deadline else {
                    throw NetworkNamespace.CommandError(description: "server on be\(j) did not listen")
                }
                usleep(100_000)
            }
        }
    }

    // MARK: - Changes a scenario makes

    /// The router's route for the VIPs: one nexthop per LB node in `lbs` (BGP routing: by drain
    /// and undrain, see `setMembership`).
    public func setECMP(_ lbs: [Int]) throws {
        if options.routing != .static { return try setMembership(lbs) }
        for (family, vip, base) in [
            ("-4", "\(Self.vip4)/32", "10.77.2."), ("-6", "\(Self.vip6)/128", "fd77:2::"),
            ("-4", "\(Self.benchVIP)/32", "10.77.2."),
        ] {
            let hops = lbs.flatMap { ["nexthop", "via", "\(base)\(10 + $0)", "dev", "br0"] }
            try inNS(router, ["ip", family, "route", "replace", vip] + hops)
        }
        ecmp = lbs
    }

    /// Rewrites every agent's config with these backend states (absent = not in the service);
    /// agents reload on the file change.
    public func setBackends(_ states: [Int: BackendState], lbs: [Int]? = nil) throws {
        backendStates = states
        for i in 1...options.lbNodes { try writeConfig(i) }
        try waitForReload(lbs: lbs ?? Array(1...options.lbNodes))
    }

    /// Until every listed agent reports the backend set and states the configs now say.
    func waitForReload(lbs: [Int], timeout: Double = 10) throws {
        let want = Dictionary(uniqueKeysWithValues: backendStates.map { ("10.77.2.\(20 + $0.key)", $0.value.rawValue) })
        let deadline = Date().addingTimeInterval(timeout)
        for i in lbs {
            while true {
                if let web = (try? agentStatus(i))?.service(named: "web") {
                    let have = Dictionary(
                        web.backends.map { ($0.address, $0.configured) },
                        uniquingKeysWith: { first, _ in first })
                    if have == want { break }
                }
                guard Date() < deadline else {
                    throw NetworkNamespace.CommandError(
                        description: "agent lb\(i) did not take the new config in \(Int(timeout)) s")
                }
                usleep(100_000)
            }
        }
    }

    /// Seconds until every listed agent reports `backend` (in service web) with this effective state.
    func waitForHealth(backend: String, state: BackendState, lbs: [Int], timeout: Double = 15) throws -> Double {
        let started = Date()
        for i in lbs {
            while true {
                let web = (try? agentStatus(i))?.service(named: "web")
                if web?.backends.first(where: { $0.address == backend })?.effective == state.rawValue { break }
                guard Date().timeIntervalSince(started) < timeout else {
                    throw NetworkNamespace.CommandError(
                        description: "lb\(i) did not see \(backend) \(state) in \(Int(timeout)) s")
                }
                usleep(50_000)
            }
        }
        return (Date().timeIntervalSince(started) * 100).rounded() / 100
    }

    /// From the agents' own logs: seconds from `since` until the last LB node logged the backend
    /// going down (the time a poll from outside would add is not counted).
    func detectionTime(backend: String, since: Date) -> Double? {
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var latest: Date?
        for i in 1...options.lbNodes {
            let log = (try? String(contentsOfFile: "\(dir)/lb\(i).log", encoding: .utf8)) ?? ""
            let line = log.split(separator: "\n").last {
                $0.contains("backend health changed") && $0.contains(backend) && $0.contains("new=down")
            }
            guard let stamp = line?.split(separator: " ").first, let date = format.date(from: String(stamp)) else {
                return nil
            }
            latest = max(latest ?? date, date)
        }
        return latest.map { (($0.timeIntervalSince(since)) * 100).rounded() / 100 }
    }

    public func killServer(_ j: Int) throws {
        for pid in pids(be(j), matching: "lab-server") { kill(pid, SIGKILL) }
    }

    public func killAgent(_ i: Int) {
        for pid in pids(lb(i), matching: " agent ") { kill(pid, SIGKILL) }
        for _ in 0..<50 where !pids(lb(i), matching: " agent ").isEmpty { usleep(20_000) }
    }

    /// BGP routing: the router dropped the node when its session closed; back once it rejoins.
    public func restartAgent(_ i: Int) throws {
        killAgent(i)
        try startAgent(i)
        try waitForAgent(i)
        if options.routing != .static { try setMembership(ecmp) }
    }

    func pids(_ ns: String, matching: String) -> [Int32] {
        let all = ((try? sh(["ip", "netns", "pids", ns])) ?? "").split(whereSeparator: \.isWhitespace).compactMap {
            Int32($0)
        }
        return all.filter { pid in
            let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
            return String(decoding: cmdline.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(matching)
        }
    }

    // MARK: - Teardown

    /// Kills every process in the lab's namespaces, deletes them, unmounts bpffs, removes the
    /// directory. Safe to call twice, and after a crash.
    public func down() { Self.down(id: id) }

    public static func down(id: String) {
        killRouterDaemons(id: id)
        for ns in NetworkNamespace.list(prefix: "sy\(id)-") { NetworkNamespace.delete(named: ns) }
        let dir = dirPrefix + id
        BPFFS.unmount("\(dir)/bpffs")
        keepFiles(of: dir, id: id)
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// `SWITCHYARD_LAB_KEEP=DIR`: the lab's files (agent logs, configs, router and store files)
    /// are copied to DIR/ID before the directory goes, so a failed run can be read afterwards.
    static func keepFiles(of dir: String, id: String) {
        guard let keep = ProcessInfo.processInfo.environment["SWITCHYARD_LAB_KEEP"], !keep.isEmpty,
            FileManager.default.fileExists(atPath: dir)
        else { return }
        let files = FileManager.default
        for path in files.subpaths(atPath: dir) ?? [] {
            let source = "\(dir)/\(path)"
            // Regular files only: sockets and pipes are not copied.
            guard (try? files.attributesOfItem(atPath: source)[.type] as? FileAttributeType) == .typeRegular
            else { continue }
            let target = "\(keep)/\(id)/\(path)"
            try? files.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? files.copyItem(atPath: source, toPath: target)
        }
    }

    /// Every lab on this machine: by directory, and any namespace with a lab-shaped name.
    public static func downAll() -> [String] {
        var ids = Set<String>()
        let tmp = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        for name in tmp where name.hasPrefix("switchyard-lab-") {
            ids.insert(String(name.dropFirst("switchyard-lab-".count)))
        }
        for ns in NetworkNamespace.list(prefix: "sy") {
            let id = ns.dropFirst(2).prefix { $0 != "-" }
            if id.count == 6, id.allSatisfy(\.isHexDigit) { ids.insert(String(id)) }
        }
        for id in ids { down(id: id) }
        return ids.sorted()
    }
}

extension AgentStatus {
    func service(named name: String) -> ServiceStatus? { services.first { $0.name == name } }
}
