import Foundation
import SwitchyardCore
import Testing

@testable import SwitchyardStore

/// Slots, channels and the write plan, without a server.
@Suite struct RedisClusterSlotTests {
    /// The cluster specification's test vector ("Key distribution model", Appendix A).
    @Test func crc16MatchesTheSpecification() {
        #expect(RedisClusterSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(RedisClusterSlot.crc16([]) == 0)
    }

    /// The table-driven CRC equals the bit-by-bit definition on every length and byte value.
    @Test func tableDrivenCRCEqualsTheBitwiseOne() {
        var rng = SplitMix64(seed: 16)
        for length in 0..<300 {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(RedisClusterSlot.crc16(bytes) == RedisClusterSlot.crc16Bitwise(bytes))
        }
    }

    /// Slots as redis-server 7.0's CLUSTER KEYSLOT reports them, and the hash-tag rules.
    @Test(arguments: [
        ("foo", 12182), ("bar", 5061), ("a", 15495), ("b", 3300), ("c", 7365), ("", 0),
        ("{user1000}.following", RedisClusterSlot.of("user1000")),
        ("foo{}{bar}", RedisClusterSlot.of(Array("foo{}{bar}".utf8))), // an empty tag: the whole key
        ("foo{{bar}}zap", RedisClusterSlot.of("{bar")), // the first { to the first } after it
        ("foo{bar}{zap}", RedisClusterSlot.of("bar")),
    ])
    func slotOfAKey(_ key: String, _ slot: Int) {
        #expect(RedisClusterSlot.of(key) == slot)
    }

    @Test func hashTagsPickTheHashedPart() {
        #expect(String(decoding: RedisClusterSlot.hashedPart(Array("x{tag}y".utf8)), as: UTF8.self) == "tag")
        #expect(String(decoding: RedisClusterSlot.hashedPart(Array("x{}y".utf8)), as: UTF8.self) == "x{}y")
        #expect(String(decoding: RedisClusterSlot.hashedPart(Array("x}{y".utf8)), as: UTF8.self) == "x}{y")
        #expect(RedisClusterSlot.of("{bar") == Int(RedisClusterSlot.crc16(Array("{bar".utf8)) % 16384))
        #expect(RedisClusterSlot.of("{user1000}.followers") == RedisClusterSlot.of("{user1000}.following"))
    }

    /// Each channel hashes into its own part of the slot space, the names are stable, and keys
    /// spread over every part.
    @Test func channelsCoverEveryPart() {
        let channels = RedisClusterChannels()
        #expect(channels.parts == 64)
        #expect(Set(channels.names).count == 64)
        for (part, (name, slot)) in zip(channels.names, channels.slots).enumerated() {
            #expect(RedisClusterSlot.of(name) == slot)
            #expect(slot * 64 / 16384 == part, "\(name) hashes to \(slot), outside part \(part)")
            #expect(name.hasPrefix("sy:flows:{"))
        }
        #expect(channels.names == RedisClusterChannels().names, "not deterministic")
        #expect(RedisClusterChannels(parts: 1).names == ["sy:flows:{0}"])
        #expect(RedisClusterChannels(parts: 100_000).parts == RedisClusterChannels.maxParts)
        var used = Set<Int>()
        for i in 0..<5000 {
            let key = "sy:f:10.1.0.1:80/tcp:\(String(i, radix: 16))"
            let channel = channels.channel(forKey: key)
            #expect(channels.part(ofSlot: RedisClusterSlot.of(key)) == channels.part(ofSlot: channel.slot))
            used.insert(channel.slot)
        }
        #expect(used.count == 64)
    }

    private static let nodes = (0..<4).compactMap { HostPort("127.0.0.1:\(7000 + $0)") }

    /// Commands go to the owner of their own slot; ASK sends that one command, after ASKING, to
    /// the importing node; a write whose slot has no primary is set aside.
    @Test func thePlanRoutesBySlot() throws {
        let topology = try RedisClusterTopology(ranges: [
            .init(slots: 0...8191, primary: Self.nodes[0]), .init(slots: 8192...16000, primary: Self.nodes[1]),
        ])
        let channels = RedisClusterChannels()
        let writes = (0..<200).map {
            (index: $0, write: FlowStoreWrite.put(record($0), seconds: 60, announce: true))
        }
        let plan = RedisClusterWritePlan(writes: writes, topology: topology, channels: channels)
        var routed = 0
        for (node, commands) in plan.nodes {
            for command in commands {
                let slot = RedisClusterSlot.of(command.arguments[1])
                #expect(topology.primary(forSlot: slot) == node)
                #expect(!command.asking)
                routed += 1
            }
        }
        let unserved = writes.filter { w in
            guard case .put(let record, _, _) = w.write else { return false }
            return RedisClusterSlot.of(record.storeKey) > 16000
                || channels.channel(forKey: record.storeKey).slot > 16000
        }
        #expect(plan.unserved == unserved.map(\.index))
        #expect(routed == (200 - unserved.count) * 2)

        let first = record(0)
        let slot = RedisClusterSlot.of(first.storeKey)
        let asked = RedisClusterWritePlan(
            writes: [(0, .delete(first))], topology: topology, channels: channels,
            redirects: [0: .init(slot: slot, node: Self.nodes[3], asking: true)])
        #expect(
            asked.nodes[Self.nodes[3]] == [.init(write: 0, order: 0, arguments: ["DEL", first.storeKey], asking: true)])
        #expect(RedisClusterWritePlan.wire(asked.nodes[Self.nodes[3]] ?? []) == [["ASKING"], ["DEL", first.storeKey]])
        let replies = RedisClusterWritePlan.replies(
            asked.nodes[Self.nodes[3]] ?? [], wire: [.simple("OK"), .integer(1)], node: Self.nodes[3])
        #expect(replies == [.integer(1)])
        // A MOVED's node is used before the topology shows it, without ASKING.
        let moved = RedisClusterWritePlan(
            writes: [(0, .delete(first))], topology: topology, channels: channels,
            redirects: [0: .init(slot: slot, node: Self.nodes[2], asking: false)])
        #expect(RedisClusterWritePlan.wire(moved.nodes[Self.nodes[2]] ?? []) == [["DEL", first.storeKey]])
    }

    /// A write's outcome is its first error, with redirects aimed at the node they name.
    @Test func outcomesFollowTheFirstError() {
        typealias Plan = RedisClusterWritePlan
        let node = Self.nodes[0]
        #expect(Plan.outcome([(.simple("OK"), node), (.integer(2), node)]) == .written)
        #expect(
            Plan.outcome([(.error("MOVED 3999 :7002"), node)])
                == .moved(RedisError(reply: "MOVED 3999 :7002"), slot: 3999, node: Self.nodes[2]))
        #expect(
            Plan.outcome([(.simple("OK"), node), (.error("ASK 12 127.0.0.1:7003"), node)])
                == .ask(RedisError(reply: "ASK 12 127.0.0.1:7003"), slot: 12, node: Self.nodes[3]))
        #expect(Plan.outcome([(.error("CLUSTERDOWN Hash slot not served"), node)]).isRetryLater)
        #expect(Plan.outcome([(.error("MOVED nonsense"), node)]).isRetryLater)
        #expect(
            Plan.outcome([(.error("OOM no"), node), (.error("TRYAGAIN"), node)])
                == .refused(RedisError(reply: "OOM no")))
        #expect(Plan.outcome([(.error("NOAUTH x"), node)]) == .authenticate(RedisError(reply: "NOAUTH x")))

        let writes = [FlowStoreWrite.delete(record(1)), .delete(record(2)), .delete(record(3))]
        let result = RedisClusterFlowStore.result(
            writes,
            [
                0: .written, 1: .moved(RedisError(reply: "MOVED 1 127.0.0.1:7001"), slot: 1, node: Self.nodes[1]),
                2: .refused(RedisError(reply: "NOPERM no")),
            ])
        #expect(result.written == 1)
        #expect(result.retry.map(\.target) == [Self.nodes[1]])
        #expect(result.refused == [.noPermission: 1])
    }
}

extension RedisClusterWritePlan.Outcome {
    var isRetryLater: Bool { if case .retryLater = self { true } else { false } }
}
