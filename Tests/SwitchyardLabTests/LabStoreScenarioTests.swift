import Foundation
import SwitchyardCore
import SwitchyardDatapath
import Testing

@testable import SwitchyardLab

/// Stateful mode on a Redis Cluster and on a Sentinel-managed primary: a store event under
/// traffic, then the change that makes a lost entry cost its connection (lb3 from the store
/// alone, be4 added, every flow on lb3). Static routes keep the labs small. Root only.
@Suite(.enabled(if: LabProbe.available, LabProbe.skipMessage), .serialized)
struct StoreScenarioTests {
    static func withLab<T>(
        _ store: FlowStoreSettings.Kind, tls: Bool = false, capacity: Int? = nil, _ body: (Lab) throws -> T
    ) throws -> T {
        var options = Lab.Options(mode: .stateful, store: store, routing: .static)
        options.storeTLS = tls
        if let capacity { options.flowTableCapacity = capacity }
        let lab = Lab(options: options, executable: LabProbe.executable)
        defer {
            lab.down()
            #expect(NetworkNamespace.list(prefix: lab.prefix).isEmpty, "namespaces left behind")
            #expect(Self.processes(mentioning: lab.dir).isEmpty, "store processes left behind")
        }
        try lab.up()
        return try body(lab)
    }

    /// Processes whose command line names `text` (the lab's store servers carry its directory).
    static func processes(mentioning text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
            return String(decoding: cmdline.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(text)
        }
    }

    static func expectEveryConnectionSurvived(_ r: ScenarioResult, connections: Int) throws {
        #expect(r.established == connections)
        #expect(r.survived == r.established, "\(r.failures)")
        let event = try #require(r.storeEvent, "a store scenario reports its event")
        #expect(event.seconds > 0 && event.settleSeconds != nil, "\(event)")
        #expect((event.rebuiltEntries ?? 0) >= connections, "lb3 loaded every live flow from the store: \(event)")
        #expect(r.flowSync?.keys.sorted() == ["lb1", "lb2", "lb3"], "\(r.flowSync ?? [:])")
    }

    /// The cluster over TLS: the shard with most flows loses its primary, the replica takes over.
    @Test func clusterFailoverOverTLSKeepsEveryConnection() throws {
        let r = try Self.withLab(.redisCluster, tls: true) { try $0.run(.storeFailover, connections: 60) }
        try Self.expectEveryConnectionSurvived(r, connections: 60)
        #expect(
            (r.storeEvent?.keysHit ?? 0) > 0, "the killed primary held flows: \(r.storeEvent.map { "\($0)" } ?? "")")
    }

    @Test func sentinelFailoverKeepsEveryConnection() throws {
        let r = try Self.withLab(.redisSentinel) { try $0.run(.storeFailover, connections: 60) }
        try Self.expectEveryConnectionSurvived(r, connections: 60)
        #expect(r.storeEvent?.event.contains("Sentinels promoted") == true)
    }

    @Test func reshardKeepsEveryConnection() throws {
        let r = try Self.withLab(.redisCluster) { try $0.run(.storeReshard, connections: 60) }
        try Self.expectEveryConnectionSurvived(r, connections: 60)
    }

    /// A lost shard stops only its own slots: new connections still open while it is down, and
    /// once its primary is back (empty) the agents have re-written what lived there.
    @Test func shardDownKeepsForwardingAndComesBack() throws {
        let r = try Self.withLab(.redisCluster) { try $0.run(.storeShardDown, connections: 60) }
        let event = try #require(r.storeEvent)
        let outage = event.outageNewConnections ?? [:]
        #expect(outage["failed"] == nil && outage.values.reduce(0, +) == 40, "forwarding went on: \(outage)")
        #expect((event.keysHit ?? 0) > 0 && event.rejoinSeconds != nil, "\(event)")
        try Self.expectEveryConnectionSurvived(r, connections: 60)
    }

    /// bench-sync through the cluster at a low rate: every flow reaches lb2, with the figures.
    @Test func benchSyncThroughTheClusterReachesEveryFlow() throws {
        let results = try Self.withLab(.redisCluster, capacity: 1 << 16) { try $0.benchSync(rates: [2000], seconds: 1) }
        let r = try #require(results.first)
        #expect(r.store == "redis-cluster" && r.flows == 2000)
        #expect(r.reached == r.flows, "\(r)")
        #expect(r.sentPerSecond > 1000, "\(r)")
        #expect(Set(r.agentCPUMillisecondsPer1000Flows.keys) == ["lb1", "lb2"], "\(r)")
        #expect((r.storeBytesPerFlow ?? 0) > 0, "\(r)")
    }
}
