import Foundation
import SwitchyardCore
import SwitchyardDatapath

/// What a store scenario did to the store, timed, with the flow keys it counted
/// (`store_event` in the scenario's JSON).
public struct StoreEventReport: Sendable, Codable, Equatable {
    /// What was done, e.g. "primary 10.77.2.1:7002 killed (-9); replica 10.77.2.1:7005 promoted".
    public var event: String
    /// failover: kill → the replica serves as primary (cluster: every slot covered again, seen
    /// by the replica; Sentinel: every Sentinel names it and it answers as primary). reshard:
    /// the migration's duration. shard-down: kill → the cluster flags the primary failed.
    public var seconds: Double
    /// After the event: until every agent reached the store again with no write waiting.
    public var settleSeconds: Double?
    /// Flow keys summed over the primaries before the event, and once the store settled.
    public var keysBefore: Int
    public var keysAfter: Int?
    /// Keys the event hit: on the killed primary (failover, shard-down), or moved (reshard).
    public var keysHit: Int?
    /// shard-down: the restart → the cluster serves every slot again; keys on the restarted
    /// primary once the agents settled; where new connections went while the shard was down.
    public var rejoinSeconds: Double?
    public var keysBack: Int?
    public var outageNewConnections: [String: Int]?
    /// The entries lb3 installed after it restarted with empty maps, from the store alone,
    /// before every flow moved to it.
    public var rebuiltEntries: Int?

    enum CodingKeys: String, CodingKey {
        case event, seconds
        case settleSeconds = "settle_s"
        case keysBefore = "keys_before"
        case keysAfter = "keys_after"
        case keysHit = "keys_hit"
        case rejoinSeconds = "rejoin_s"
        case keysBack = "keys_back"
        case outageNewConnections = "outage_new_connections"
        case rebuiltEntries = "rebuilt_entries"
    }

    public init(event: String, seconds: Double, keysBefore: Int) {
        self.event = event
        self.seconds = seconds
        self.keysBefore = keysBefore
    }
}

/// The LB-node change every store scenario ends with, so that an entry the store lost costs a
/// connection: lb3 restarts with empty maps (its table comes from the store's snapshot alone,
/// not from announcements it heard before), be4 joins the service (a flow lb3 finds no entry for
/// may now hash to another backend), and every flow moves to lb3.
enum LabStoreProof {
    static let summary =
        "then lb3 restarts with empty maps and loads the store, be4 is added and every flow moves to lb3"
}

extension Lab {
    func checkStoreCanRun(_ scenario: Scenario) throws {
        guard let stores = scenario.stores else { return }
        guard options.mode == .stateful, stores.contains(options.store) else {
            let kinds = stores.map(\.rawValue).sorted().joined(separator: " or ")
            throw NetworkNamespace.CommandError(
                description: "\(scenario.rawValue) acts on the shared flow store: run it with --mode stateful "
                    + "--store \(kinds)")
        }
        if scenario != .storeRestart, options.lbNodes < 3 {
            throw NetworkNamespace.CommandError(
                description: "\(scenario.rawValue) moves every flow to lb3 at the end: it needs 3 LB nodes")
        }
    }

    /// store-failover: the primary holding most flow keys is killed; its replica takes over.
    func failStorePrimary() throws -> StoreEventReport {
        let killed: Date
        var report: StoreEventReport
        switch options.store {
        case .redisCluster:
            let primaries = try clusterPrimaries()
            guard let victim = primaries.max(by: { $0.keys < $1.keys }),
                let replica = try clusterNodes().first(where: { $0.primaryID == victim.node.id && !$0.failing })
            else {
                throw NetworkNamespace.CommandError(description: "store-failover: no primary with a live replica")
            }
            killed = Date()
            try killStoreServer(port: victim.node.port)
            let seen = {
                let info = self.storeAnswer(replica.port, ["cluster", "info"]) ?? "no answer"
                let nodes = self.storeAnswer(replica.port, ["cluster", "nodes"]) ?? "no answer"
                return "\(replica.address): \(info.prefix(120)) \(nodes)"
            }
            try waitUntil("\(replica.address) promoted", timeout: 30, state: seen) {
                clusterNodes(via: replica.port)?.first { $0.id == replica.id }?.isPrimary == true
                    && clusterReady(via: replica.port)
            }
            report = StoreEventReport(
                event: "primary \(victim.node.address) killed (-9); replica \(replica.address) promoted",
                seconds: Self.seconds(since: killed), keysBefore: primaries.map(\.keys).reduce(0, +))
            report.keysHit = victim.keys
        case .redisSentinel:
            let primary = Self.sentinelPorts.lazy.compactMap { self.sentinelPrimaryPort(via: $0) }.first
            guard let primary else {
                throw NetworkNamespace.CommandError(description: "store-failover: no Sentinel names a primary")
            }
            let replica = primary == Self.redisPort ? Self.sentinelReplicaPort : Self.redisPort
            let keys = storeKeyCount(primary) ?? 0
            killed = Date()
            try killStoreServer(port: primary)
            try waitUntil(":\(replica) promoted by the Sentinels", timeout: 30) {
                Self.sentinelPorts.allSatisfy { sentinelPrimaryPort(via: $0) == replica }
                    && storeInfo(replica, "replication")["role"] == "master"
            }
            report = StoreEventReport(
                event: "primary \(Self.storeHost):\(primary) killed (-9); the Sentinels promoted "
                    + "\(Self.storeHost):\(replica)",
                seconds: Self.seconds(since: killed), keysBefore: keys)
            report.keysHit = keys
        default:
            throw NetworkNamespace.CommandError(
                description: "store-failover needs --store redis-cluster or redis-sentinel")
        }
        log("store-failover: \(report.event) after \(report.seconds) s")
        try settle(&report)
        return report
    }

    /// store-reshard: 2000 slots (and their keys) migrate from the busiest primary to the least
    /// busy one while the agents write, refresh and announce.
    func reshardStore(slots: Int = 2000) throws -> StoreEventReport {
        let primaries = try clusterPrimaries().sorted { $0.keys > $1.keys }
        guard let from = primaries.first, let to = primaries.last, from.node.id != to.node.id else {
            throw NetworkNamespace.CommandError(description: "store-reshard: the cluster has fewer than two primaries")
        }
        let started = Date()
        try inNS(
            router,
            ["redis-cli"] + (storeTLS?.cliArguments ?? []) + [
                "--cluster", "reshard", from.node.address, "--cluster-from", from.node.id, "--cluster-to",
                to.node.id, "--cluster-slots", "\(slots)", "--cluster-yes",
            ])
        var report = StoreEventReport(
            event: "\(slots) slots moved from \(from.node.address) to \(to.node.address)",
            seconds: Self.seconds(since: started), keysBefore: primaries.map(\.keys).reduce(0, +))
        report.keysHit = from.keys - (storeKeyCount(from.node.port) ?? from.keys)
        try waitUntil("every node agrees the slots moved", timeout: 20) {
            Self.clusterPorts.allSatisfy { clusterReady(via: $0) }
        }
        log("store-reshard: \(report.event) in \(report.seconds) s (\(report.keysHit ?? 0) keys)")
        try settle(&report)
        return report
    }

    /// store-shard-down: the busiest shard loses its replica, then its primary; the others keep
    /// serving (`cluster-require-full-coverage no`). New connections are opened through `probe`
    /// while it is down; then the primary restarts, empty, and serves its slots again.
    func loseShard(probe: ClientProcess) throws -> StoreEventReport {
        let primaries = try clusterPrimaries()
        guard let victim = primaries.max(by: { $0.keys < $1.keys }),
            let replica = try clusterNodes().first(where: { $0.primaryID == victim.node.id && !$0.failing })
        else {
            throw NetworkNamespace.CommandError(description: "store-shard-down: no primary with a replica")
        }
        let others = Self.clusterPorts.filter { $0 != victim.node.port && $0 != replica.port }
        func flagged(_ node: LabClusterNode) -> Bool {
            others.contains { clusterNodes(via: $0)?.first { $0.id == node.id }?.flags.contains("fail") == true }
        }
        try killStoreServer(port: replica.port)
        try waitUntil("\(replica.address) flagged failed", timeout: 20) { flagged(replica) }
        let killed = Date()
        try killStoreServer(port: victim.node.port)
        try waitUntil("\(victim.node.address) flagged failed", timeout: 20) { flagged(victim.node) }
        var report = StoreEventReport(
            event: "replica \(replica.address), then primary \(victim.node.address) killed (-9): "
                + "\(victim.node.slotCount) slots without a server; the primary restarted later",
            seconds: Self.seconds(since: killed), keysBefore: primaries.map(\.keys).reduce(0, +))
        report.keysHit = victim.keys
        log("store-shard-down: \(victim.node.address) flagged failed after \(report.seconds) s (\(victim.keys) keys)")
        Thread.sleep(forTimeInterval: 2)
        probe.send("probe 40")
        report.outageNewConnections = try probe.next().perBackend
        log("store-shard-down: new connections while the shard is down: \(report.outageNewConnections ?? [:])")
        let restarted = Date()
        try startRedisServer(port: victim.node.port)
        try waitUntil("\(victim.node.address) serving its slots again", timeout: 30) {
            others.allSatisfy { clusterNodes(via: $0)?.first { $0.id == victim.node.id }?.failing == false }
                && others.allSatisfy {
                    storeAnswer($0, ["cluster", "info"]).map(RedisInfoText.fields)?["cluster_slots_ok"] == "16384"
                }
        }
        report.rejoinSeconds = Self.seconds(since: restarted)
        try settle(&report)
        report.keysBack = storeKeyCount(victim.node.port)
        log("store-shard-down: rejoined after \(report.rejoinSeconds ?? 0) s; \(report.keysBack ?? 0) keys back on it")
        return report
    }

    /// Until every agent reaches the store with nothing waiting, for a second in a row; then one
    /// refresh interval more, so refreshes and the agents' re-writes have landed.
    func settle(_ report: inout StoreEventReport) throws {
        var calmSince: Date?
        let states = {
            (1...self.options.lbNodes).map { i in
                let sharing = try? self.agentStatus(i).flowSharing
                return "lb\(i) reachable \(sharing?.storeReachable ?? false) pending \(sharing?.pending ?? -1)"
            }.joined(separator: ", ")
        }
        report.settleSeconds = try waitUntil(
            "the agents back on the store with nothing pending", timeout: 30, state: states
        ) {
            let settled = (1...options.lbNodes).allSatisfy { i in
                guard let sharing = try? agentStatus(i).flowSharing else { return false }
                return sharing.storeReachable && sharing.pending == 0
            }
            calmSince = settled ? calmSince ?? Date() : nil
            return calmSince.map { Date().timeIntervalSince($0) >= 1 } ?? false
        }
        Thread.sleep(forTimeInterval: 2.5)
        report.keysAfter = storeMemory()?.keys
        let keys = "keys \(report.keysBefore) → \(report.keysAfter.map(String.init) ?? "?")"
        log("store: settled after \(report.settleSeconds ?? 0) s; \(keys)")
    }

    /// `LabStoreProof`: lb3 from the store alone, be4 added, every flow on lb3. Returns the
    /// entries lb3 installed before it took the flows.
    func moveFlowsToStoreRebuiltNode(_ i: Int = 3) throws -> Int {
        let before = ecmp
        try wipe(i)
        try startAgent(i)
        try waitForAgent(i)
        if options.routing != .static { try setMembership(before) }
        var last = -1
        var steadySince: Date?
        try waitUntil("lb\(i) loaded the store's flows", timeout: 30) {
            guard let sharing = try? agentStatus(i).flowSharing, sharing.storeReachable else { return false }
            steadySince = sharing.installed == last && sharing.installed > 0 ? steadySince ?? Date() : nil
            last = sharing.installed
            return steadySince.map { Date().timeIntervalSince($0) >= 1 } ?? false
        }
        log("lb\(i) restarted empty and installed \(last) entries from the store")
        try setBackends([1: .up, 2: .up, 3: .up, 4: .up])
        try setECMP([i])
        return last
    }

    /// Each agent's flow-sync counters (the integer fields of its status' `flowSharing`), by node.
    func flowSyncCounters() -> [String: [String: Int]] {
        var result: [String: [String: Int]] = [:]
        for i in 1...options.lbNodes {
            guard let sharing = try? agentStatus(i).flowSharing else { continue }
            var counters: [String: Int] = [:]
            for child in Mirror(reflecting: sharing).children {
                if let label = child.label, let value = child.value as? Int { counters[label] = value }
            }
            result["lb\(i)"] = counters
        }
        return result
    }

    /// What grew between two `flowSyncCounters()`: counters that changed, and always the ones a
    /// store event is about (recoveries, re-written own entries, retried writes, store failures).
    /// A node whose counters went down restarted: its counters since then are reported.
    static func flowSyncGrowth(
        before: [String: [String: Int]], after: [String: [String: Int]]
    ) -> [String: [String: Int]] {
        var result: [String: [String: Int]] = [:]
        for (node, now) in after {
            let then = before[node] ?? [:]
            let restarted = now.contains { $0.value < (then[$0.key] ?? 0) }
            var grown: [String: Int] = [:]
            for (name, value) in now {
                let delta = restarted ? value : value - (then[name] ?? 0)
                if delta != 0 || alwaysReported.contains(where: { name.lowercased().contains($0) }) {
                    grown[name] = delta
                }
            }
            result[node] = grown
        }
        return result
    }

    static let alwaysReported = ["recover", "rewr", "retried", "storefailures"]

    static func seconds(since date: Date) -> Double { (Date().timeIntervalSince(date) * 100).rounded() / 100 }
}
