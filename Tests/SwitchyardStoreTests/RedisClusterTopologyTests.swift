import Foundation
import SwitchyardCore
import Testing

@testable import SwitchyardStore

/// `CLUSTER SLOTS` replies into topologies, and the malformed ones rejected with a reason.
@Suite struct RedisClusterTopologyTests {
    static let source = HostPort("10.0.0.9:7000")!

    static func bulk(_ text: String) -> RESPValue { .bulk(Array(text.utf8)) }
    static func node(_ host: String, _ port: Int, _ id: String = "id") -> RESPValue {
        .array([bulk(host), .integer(port), bulk(id), .array([])]) // 7.0: a fourth, metadata element
    }
    static func range(_ start: Int, _ end: Int, _ nodes: RESPValue...) -> RESPValue {
        .array([.integer(start), .integer(end)] + nodes)
    }

    @Test func aThreeShardClusterWithReplicas() throws {
        let reply = RESPValue.array([
            Self.range(10923, 16383, Self.node("127.0.0.1", 7002), Self.node("127.0.0.1", 7003)),
            Self.range(0, 5460, Self.node("127.0.0.1", 7000), Self.node("127.0.0.1", 7004)),
            Self.range(5461, 10922, Self.node("127.0.0.1", 7001), Self.node("127.0.0.1", 7005)),
        ])
        let topology = try RedisClusterTopology.parse(slotsReply: reply, from: Self.source)
        #expect(topology.ranges.map(\.slots) == [0...5460, 5461...10922, 10923...16383])
        #expect(topology.primaries.map(\.description) == ["127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"])
        #expect(topology.ranges[0].replicas.map(\.description) == ["127.0.0.1:7004"])
        #expect(topology.primary(forSlot: 5461)?.port == 7001)
        #expect(topology.primary(forSlot: 16383)?.port == 7002)
        #expect(topology.primary(forSlot: 16384) == nil && topology.primary(forSlot: -1) == nil)
        #expect(topology.unservedSlots.isEmpty)
        #expect(topology.nodes.count == 6)
    }

    /// An empty host is the asked node's; an unknown one (`?`, null) leaves the range unserved
    /// or drops the replica; gaps are unserved.
    @Test func unknownEndpointsAndGaps() throws {
        let reply = RESPValue.array([
            Self.range(0, 99, Self.node("", 7001), .array([.bulk(nil), .integer(7005)])),
            Self.range(100, 199, Self.node("?", 7002)),
            Self.range(300, 16383, .array([Self.bulk("redis-3.example"), .integer(6379)])),
        ])
        let topology = try RedisClusterTopology.parse(slotsReply: reply, from: Self.source)
        #expect(topology.primary(forSlot: 0)?.description == "10.0.0.9:7001")
        #expect(topology.ranges[0].replicas.isEmpty)
        #expect(topology.primary(forSlot: 150) == nil)
        #expect(topology.primary(forSlot: 300)?.description == "redis-3.example:6379")
        #expect(topology.unservedSlots == [100...299])
        #expect(try RedisClusterTopology.parse(slotsReply: .array([]), from: Self.source).unservedSlots == [0...16383])
    }

    @Test(arguments: [
        (RESPValue.error("ERR This instance has cluster support disabled"), "not an array"),
        (.array(nil), "not an array"),
        (.array([.integer(1)]), "entry 0"),
        (.array([.array([.integer(0), .integer(10)])]), "entry 0"),
        (.array([.array([Self.bulk("0"), .integer(10), Self.node("a", 1)])]), "entry 0"),
        (.array([range(10, 5, node("a", 1))]), "10-5"),
        (.array([range(0, 16384, node("a", 1))]), "0-16384"),
        (.array([range(-1, 3, node("a", 1))]), "-1-3"),
        (.array([range(0, 1, .array([bulk("a")]))]), "node"),
        (.array([range(0, 1, .array([bulk("a"), bulk("7000")]))]), "node"),
        (.array([range(0, 1, .array([.integer(1), .integer(7000)]))]), "node"),
        (.array([range(0, 1, node("a", 0))]), "node"),
        (.array([range(0, 1, node("a", 70000))]), "node"),
        (.array([range(0, 1, node("not a host!", 7000))]), "node"),
        (.array([range(0, 1, node("a", 1), .integer(3))]), "node"),
        (.array([range(0, 10, node("a", 1)), range(10, 20, node("b", 1))]), "slot 10 twice"),
    ])
    func malformedRepliesAreRejected(_ reply: RESPValue, _ words: String) {
        #expect {
            try RedisClusterTopology.parse(slotsReply: reply, from: Self.source)
        } throws: { error in
            let text = "\(error)"
            return text.contains(words) && text.hasSuffix("ask another cluster node")
        }
    }

    /// Every seed and saved crash (Fuzz/corpus/resp-cluster, Fuzz/regressions/resp-cluster)
    /// goes through the fuzzer's own entry point. A missing directory fails.
    @Test func savedFuzzInputsAreHandled() throws {
        let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz")
        var count = 0
        for kind in ["corpus", "regressions"] {
            let directory = fuzz.appendingPathComponent("\(kind)/resp-cluster").standardized
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            where !name.hasPrefix(".") {
                RESPClusterFuzzEntry.clusterSlots([UInt8](try Data(contentsOf: directory.appendingPathComponent(name))))
                count += 1
            }
        }
        #expect(count >= 4, "Fuzz/corpus/resp-cluster holds the seeds; regenerate with FuzzSeeds")
    }
}
