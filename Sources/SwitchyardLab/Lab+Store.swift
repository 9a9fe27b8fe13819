import Foundation
import SwitchyardCore
import SwitchyardDatapath

/// The flow store the LB nodes share, in the router namespace on the fabric address 10.77.2.1,
/// with its files and logs under `<lab dir>/store`:
///
/// - `redis`: one server on :6379.
/// - `redis-cluster`: six servers on :7001-:7006 formed by `redis-cli --cluster create` into
///   three primaries with a replica each. Node timeout 1 s, so a killed primary's replica takes
///   over in ~2 s; replica validity factor 0, so a replica that was slow to hear from its primary
///   (two busy cores) still takes over rather than leave the shard without a server.
///   `cluster-require-full-coverage no`: a shard that lost its primary and its replica only stops
///   the keys of its own slots; the other shards keep serving (with the default, every node answers
///   CLUSTERDOWN to everything until the slots are covered again, so one lost shard would stop
///   every write and every announcement).
/// - `redis-sentinel`: a primary on :6379, its replica on :6380, and three Sentinels on
///   :26379-:26381 (quorum 2, down after 1 s, failover timeout 3 s) watching it as `switchyard`.
///
/// No persistence (`--save ""`, no AOF): a restarted server comes back empty and the agents
/// re-write their entries. Bounded memory: beyond it Redis evicts the entries closest to expiry,
/// which are new flows never refreshed (a flood). The processes live in the router namespace, so
/// removing the lab (`down`, on any exit or signal) kills them with it.
extension Lab {
    public static let storeHost = "10.77.2.1"
    public static let redisMaxMemoryMB = 48
    static let redisPort = 6379
    static let clusterPorts = Array(7001...7006)
    static let sentinelReplicaPort = 6380
    static let sentinelPorts = [26379, 26380, 26381]
    public static let sentinelMasterName = "switchyard"

    var storeDirectory: String { "\(dir)/store" }
    var storeTLS: LabStoreTLS? { options.storeTLS ? LabStoreTLS(directory: "\(storeDirectory)/tls") : nil }

    /// The data servers of the store as configured (not who is primary now).
    var storePorts: [Int] {
        switch options.store {
        case .redis: [Self.redisPort]
        case .redisCluster: Self.clusterPorts
        case .redisSentinel: [Self.redisPort, Self.sentinelReplicaPort]
        case .embedded: []
        }
    }

    func startStore() throws {
        try FileManager.default.createDirectory(atPath: storeDirectory, withIntermediateDirectories: true)
        if let tls = storeTLS { try tls.make(host: Self.storeHost) { try sh($0) } }
        switch options.store {
        case .redis: try startRedisServer(port: Self.redisPort)
        case .redisCluster: try startCluster()
        case .redisSentinel: try startSentinelGroup()
        case .embedded: return
        }
        log("store: \(options.store.rawValue)\(options.storeTLS ? " over TLS" : "") up (files in \(storeDirectory))")
    }

    func redisServerArguments(port: Int, replicaOf primary: Int? = nil) -> [String] {
        var argv = [
            "redis-server", "--bind", Self.storeHost, "--protected-mode", "no", "--save", "", "--appendonly", "no",
            "--dir", storeDirectory, "--dbfilename", "dump-\(port).rdb", "--pidfile", pidFile(port),
            "--maxmemory", "\(Self.redisMaxMemoryMB)mb", "--maxmemory-policy", "volatile-ttl",
        ]
        argv += storeTLS?.serverArguments(port: port, cluster: options.store == .redisCluster) ?? ["--port", "\(port)"]
        if options.store == .redisCluster {
            argv += [
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes-\(port).conf",
                "--cluster-node-timeout", "1000", "--cluster-require-full-coverage", "no",
                "--cluster-replica-validity-factor", "0",
            ]
        }
        if let primary { argv += ["--replicaof", Self.storeHost, "\(primary)"] }
        return argv
    }

    func pidFile(_ port: Int) -> String { "\(storeDirectory)/redis-\(port).pid" }

    /// Starts (or restarts, with the same options) the server on `port`; a cluster node finds
    /// its node id and slots again in its nodes file.
    func startRedisServer(port: Int, replicaOf primary: Int? = nil) throws {
        try spawn(router, redisServerArguments(port: port, replicaOf: primary), log: "store/redis-\(port)")
        try waitForPort(router, port)
    }

    /// SIGKILL to the store server on `port`, and until nothing listens there.
    func killStoreServer(port: Int) throws {
        let text = (try? String(contentsOfFile: pidFile(port), encoding: .utf8)) ?? ""
        guard let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1,
            processCommand(pid).hasPrefix("redis-server")
        else {
            throw NetworkNamespace.CommandError(
                description: "no running store server on :\(port); see \(storeDirectory)")
        }
        kill(pid, SIGKILL)
        for _ in 0..<100 where !((try? inNS(router, ["ss", "-Hltn", "sport = :\(port)"])) ?? "").isEmpty {
            usleep(20_000)
        }
    }

    /// The store-restart scenario: every Redis server of the lab's single-server store, killed.
    public func killRedis() {
        for pid in pids(router, matching: "redis-server") { kill(pid, SIGKILL) }
        for _ in 0..<100 where !pids(router, matching: "redis-server").isEmpty { usleep(20_000) }
    }

    func processCommand(_ pid: Int32) -> String {
        let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
        return String(decoding: cmdline.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    }

    /// redis-cli against the store process on `port` (TLS options added when the store has them).
    @discardableResult
    func storeCLI(_ port: Int, _ args: [String]) throws -> String {
        try inNS(router, ["redis-cli", "-h", Self.storeHost, "-p", "\(port)"] + (storeTLS?.cliArguments ?? []) + args)
    }

    /// The store's answer, or nil when the server does not answer (killed, still starting).
    func storeAnswer(_ port: Int, _ args: [String]) -> String? {
        guard let text = try? storeCLI(port, args), !text.hasPrefix("Could not connect"), !text.hasPrefix("ERR")
        else { return nil }
        return text
    }

    func storeInfo(_ port: Int, _ section: String) -> [String: String] {
        storeAnswer(port, ["info", section]).map(RedisInfoText.fields) ?? [:]
    }

    func storeKeyCount(_ port: Int) -> Int? {
        storeAnswer(port, ["dbsize"]).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Until `condition` holds, polling every 50 ms; the seconds it took. On timeout the error
    /// carries `state()`, what was seen last (the lab directory goes with the lab).
    @discardableResult
    func waitUntil(
        _ what: String, timeout: Double, state: () -> String = { "" }, _ condition: () -> Bool
    ) throws -> Double {
        let started = Date()
        while !condition() {
            guard Date().timeIntervalSince(started) < timeout else {
                let seen = state()
                throw NetworkNamespace.CommandError(
                    description: "store: \(what) did not happen in \(Int(timeout)) s"
                        + (seen.isEmpty ? "" : "; last seen: \(seen)"))
            }
            usleep(50_000)
        }
        return (Date().timeIntervalSince(started) * 100).rounded() / 100
    }

    /// What `lab up` suggests to look into the store: redis-cli on its first server (cluster:
    /// following redirects; Sentinel: asking for the primary).
    public var storeCommandLine: String? {
        guard options.sharedStore, let port = storePorts.first else { return nil }
        let tls = (storeTLS?.cliArguments ?? []).joined(separator: " ")
        let cli = "redis-cli -h \(Self.storeHost)\(tls.isEmpty ? "" : " " + tls)"
        switch options.store {
        case .redisCluster: return "\(cli) -p \(port) -c cluster nodes"
        case .redisSentinel:
            return "\(cli) -p \(Self.sentinelPorts[0]) sentinel get-master-addr-by-name \(Self.sentinelMasterName)"
        default: return "\(cli) -p \(port) dbsize"
        }
    }

    // MARK: - Redis Cluster

    private func startCluster() throws {
        for port in Self.clusterPorts {
            try spawn(router, redisServerArguments(port: port), log: "store/redis-\(port)")
        }
        for port in Self.clusterPorts { try waitForPort(router, port) }
        try inNS(
            router,
            ["redis-cli"] + (storeTLS?.cliArguments ?? []) + ["--cluster", "create"]
                + Self.clusterPorts.map { "\(Self.storeHost):\($0)" } + ["--cluster-replicas", "1", "--cluster-yes"])
        try waitUntil("cluster_state:ok on every node", timeout: 20) {
            Self.clusterPorts.allSatisfy { clusterReady(via: $0) }
        }
    }

    /// The node on `port` sees every slot served and six nodes.
    func clusterReady(via port: Int) -> Bool {
        guard let text = storeAnswer(port, ["cluster", "info"]) else { return false }
        let info = RedisInfoText.fields(text)
        return info["cluster_state"] == "ok" && info["cluster_slots_ok"] == "16384"
            && info["cluster_known_nodes"] == "\(Self.clusterPorts.count)"
    }

    /// The cluster as the node on `port` sees it (nil if it does not answer).
    func clusterNodes(via port: Int) -> [LabClusterNode]? {
        storeAnswer(port, ["cluster", "nodes"]).map(LabClusterNode.parse)
    }

    /// The cluster as the first answering node sees it.
    func clusterNodes(avoiding down: Set<Int> = []) throws -> [LabClusterNode] {
        for port in Self.clusterPorts where !down.contains(port) {
            if let nodes = clusterNodes(via: port), !nodes.isEmpty { return nodes }
        }
        throw NetworkNamespace.CommandError(description: "no cluster node answers CLUSTER NODES; see \(storeDirectory)")
    }

    /// Primaries that serve slots and are not failing, with their key counts.
    func clusterPrimaries(avoiding down: Set<Int> = []) throws -> [(node: LabClusterNode, keys: Int)] {
        try clusterNodes(avoiding: down).filter { $0.isPrimary && !$0.failing && $0.slotCount > 0 }
            .map { ($0, storeKeyCount($0.port) ?? 0) }
    }

    // MARK: - Sentinel

    private func startSentinelGroup() throws {
        try startRedisServer(port: Self.redisPort)
        try startRedisServer(port: Self.sentinelReplicaPort, replicaOf: Self.redisPort)
        try waitUntil("the replica on :\(Self.sentinelReplicaPort) in sync", timeout: 15) {
            storeInfo(Self.sentinelReplicaPort, "replication")["master_link_status"] == "up"
        }
        for port in Self.sentinelPorts {
            let config = "\(storeDirectory)/sentinel-\(port).conf"
            try sentinelConfiguration(port: port).write(toFile: config, atomically: true, encoding: .utf8)
            try spawn(
                router, ["redis-sentinel", config] + (storeTLS?.serverArguments(port: port, cluster: false) ?? []),
                log: "store/sentinel-\(port)")
        }
        for port in Self.sentinelPorts { try waitForPort(router, port) }
        // Each Sentinel must know the other two (they meet through the primary's hello channel,
        // every 2 s) and the replica before a failover can gather its quorum and promote it.
        try waitUntil("the Sentinels know each other and the replica", timeout: 20) {
            Self.sentinelPorts.allSatisfy { port in
                guard let text = storeAnswer(port, ["sentinel", "master", Self.sentinelMasterName]) else {
                    return false
                }
                let lines = text.split(whereSeparator: \.isNewline).map(String.init)
                func value(_ key: String) -> String? {
                    lines.firstIndex(of: key).flatMap { $0 + 1 < lines.count ? lines[$0 + 1] : nil }
                }
                return value("num-other-sentinels") == "2" && value("num-slaves") == "1"
            }
        }
    }

    func sentinelConfiguration(port: Int) -> String {
        let listen = options.storeTLS ? "port 0\ntls-port \(port)" : "port \(port)"
        return """
            # Lab \(id): Sentinel \(port), written by `switchyard lab` (Sentinel rewrites it as it learns).
            bind \(Self.storeHost)
            \(listen)
            protected-mode no
            dir \(storeDirectory)
            pidfile \(storeDirectory)/sentinel-\(port).pid
            sentinel monitor \(Self.sentinelMasterName) \(Self.storeHost) \(Self.redisPort) 2
            sentinel down-after-milliseconds \(Self.sentinelMasterName) 1000
            sentinel failover-timeout \(Self.sentinelMasterName) 3000
            sentinel parallel-syncs \(Self.sentinelMasterName) 1

            """
    }

    /// The port of the primary the Sentinel on `sentinel` names now.
    func sentinelPrimaryPort(via sentinel: Int) -> Int? {
        guard let text = storeAnswer(sentinel, ["sentinel", "get-master-addr-by-name", Self.sentinelMasterName])
        else { return nil }
        let lines = text.split(whereSeparator: \.isNewline)
        return lines.count == 2 ? Int(lines[1].trimmingCharacters(in: .whitespaces)) : nil
    }

    // MARK: - Figures

    /// The primaries' ports now: the one server, the cluster's live primaries, or the one the
    /// Sentinels name.
    func storePrimaryPorts() -> [Int] {
        switch options.store {
        case .redis: return [Self.redisPort]
        case .redisCluster: return ((try? clusterPrimaries()) ?? []).map(\.node.port)
        case .redisSentinel:
            return Self.sentinelPorts.lazy.compactMap { self.sentinelPrimaryPort(via: $0) }.first.map { [$0] } ?? []
        case .embedded: return []
        }
    }

    /// Memory and keys summed over the primaries (replicas hold copies, not more flows).
    func storeMemory() -> (bytes: Int, keys: Int)? {
        let ports = storePrimaryPorts()
        guard !ports.isEmpty else { return nil }
        var total = (bytes: 0, keys: 0)
        for port in ports {
            guard let keys = storeKeyCount(port),
                let bytes = storeInfo(port, "memory")["used_memory"].flatMap({ Int($0) })
            else { return nil }
            total.bytes += bytes
            total.keys += keys
        }
        return total
    }

    /// One integer INFO field summed over the primaries (e.g. stats/evicted_keys).
    func storeInfoSum(_ section: String, _ field: String) -> Int? {
        let values = storePrimaryPorts().compactMap { storeInfo($0, section)[field].flatMap { Int($0) } }
        return values.isEmpty ? nil : values.reduce(0, +)
    }
}
