import Foundation
import SwitchyardCore
import Testing

@testable import SwitchyardLab

/// What the lab reads from and writes for its stores, without running them: `CLUSTER NODES`,
/// `/proc/<pid>/stat`, the counters a store scenario reports, and the agents' `flowStore`.
struct LabStoreTopologyTests {
    static let clusterNodes = """
        e7d1eec 10.77.2.1:7001@17001 myself,master - 0 0 1 connected 0-5460
        67ed2db 10.77.2.1:7002@17002 master - 0 1426238316232 2 connected 5461-10922 [5461->-e7d1eec]
        292f8b3 10.77.2.1:7003@17003 master,fail - 1426238316232 1426238314000 3 disconnected 10923-16383
        6ec2392 10.77.2.1:7004@17004,store.lab slave e7d1eec 0 1426238317741 1 connected
        824fe11 10.77.2.1:7005@17005 slave,fail? 67ed2db 0 1426238316232 2 connected
        garbage
        """

    @Test func clusterNodesAreParsedWithSlotsRolesAndFailures() throws {
        let nodes = LabClusterNode.parse(Self.clusterNodes)
        #expect(nodes.count == 5, "the line that does not parse is skipped")
        let byPort = Dictionary(uniqueKeysWithValues: nodes.map { ($0.port, $0) })
        #expect(byPort[7001]?.slotCount == 5461 && byPort[7001]?.isPrimary == true)
        #expect(byPort[7002]?.slotCount == 5462, "the migration marker is not a slot")
        #expect(byPort[7003]?.failing == true && byPort[7003]?.connected == false)
        #expect(byPort[7004]?.primaryID == "e7d1eec" && byPort[7004]?.isPrimary == false)
        #expect(byPort[7004]?.host == "10.77.2.1", "the hostname after the bus port is not the host")
        #expect(byPort[7005]?.failing == true)
        #expect(byPort[7001]?.address == "10.77.2.1:7001")
    }

    @Test func infoTextFields() {
        let info = RedisInfoText.fields("# Cluster\r\ncluster_state:ok\r\ncluster_slots_ok:16384\r\n")
        #expect(info["cluster_state"] == "ok" && info["cluster_slots_ok"] == "16384" && info.count == 2)
    }

    @Test func cpuTimeIsCountedAfterTheCommandName() {
        // A command name with a space and a parenthesis must not shift the fields.
        let stat = "4242 (sw agent) x) S 1 4242 4242 0 -1 4194560 9001 0 0 0 150 37 0 0 20 0 9 0 1234 0 0"
        #expect(ProcessCPUTime.ticks(stat: stat) == 187)
        #expect(ProcessCPUTime.ticks(stat: "4242 (agent) S 1") == nil)
    }

    @Test func flowSyncGrowthReportsWhatChangedAndRestartedAgentsFromZero() {
        let before = [
            "lb1": ["published": 10, "retried": 0, "storeFailures": 2, "installed": 5], "lb3": ["installed": 90],
        ]
        let after = [
            "lb1": ["published": 14, "retried": 0, "storeFailures": 2, "installed": 5], "lb3": ["installed": 40],
        ]
        let growth = Lab.flowSyncGrowth(before: before, after: after)
        #expect(growth["lb1"] == ["published": 4, "retried": 0, "storeFailures": 0])
        #expect(growth["lb3"] == ["installed": 40], "lb3's agent restarted: its counters since then")
    }

    /// The `flowStore` each agent gets: where the store is, and with TLS whom to trust.
    @Test(arguments: FlowStoreSettings.Kind.allCases)
    func agentsGetTheStoreTheLabRuns(_ kind: FlowStoreSettings.Kind) {
        var options = Lab.Options(mode: .stateful, store: kind)
        options.storeTLS = kind != .embedded
        let lab = Lab(options: options, executable: "/bin/false")
        let line = lab.storeLine
        switch kind {
        case .embedded: #expect(line.contains("type: embedded") && !line.contains("tls"))
        case .redis: #expect(line.contains("address: \"10.77.2.1:6379\""))
        case .redisCluster:
            #expect(line.contains("type: redis-cluster"))
            #expect(line.contains("seeds: [\"10.77.2.1:7001\", \"10.77.2.1:7002\""))
        case .redisSentinel:
            #expect(line.contains("type: redis-sentinel") && line.contains("masterName: switchyard"))
            #expect(line.contains("seeds: [\"10.77.2.1:26379\", \"10.77.2.1:26380\", \"10.77.2.1:26381\"]"))
        }
        if kind != .embedded {
            #expect(line.contains("tls: {caFile: \"\(lab.dir)/store/tls/ca.crt\""))
            #expect(line.contains("serverName: store.switchyard.lab"))
            #expect(line.contains("refreshSeconds: 2"))
        }
        #expect(Lab(options: .init(mode: .stateless, store: kind), executable: "/bin/false").storeLine.isEmpty)
    }

    @Test func scenariosSayWhichStoresTheyNeed() {
        #expect(Scenario.storeFailover.stores == [.redisCluster, .redisSentinel])
        #expect(Scenario.storeReshard.stores == [.redisCluster] && Scenario.storeShardDown.stores == [.redisCluster])
        #expect(Scenario.storeRestart.stores == [.redis] && Scenario.lbAdd.stores == nil)
    }
}
