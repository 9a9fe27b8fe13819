import NIOCore
import SwitchyardCore
import SwitchyardStore

/// The cluster topology parser's fuzz entry (`CLUSTER SLOTS` replies), shared by the libFuzzer
/// target (Fuzz/) and the ordinary test suite (symlinked into Tests/SwitchyardStoreTests). The
/// reply comes from a node we do not trust; the parser must reject it, never trap.
public enum RESPClusterFuzzEntry {
    static let source = HostPort("127.0.0.1:7000") ?? HostPort("localhost:7000")

    /// Decodes RESP values from the input and parses each as a `CLUSTER SLOTS` reply. A parsed
    /// topology must be consistent: every slot of every range maps to that range's primary, no
    /// slot to any other, and the unserved slots are exactly those no range holds.
    public static func clusterSlots(_ input: [UInt8]) {
        var buffer = ByteBuffer(bytes: input)
        while buffer.readableBytes > 0 {
            guard let value = try? RESPCodec.read(from: &buffer), let source else { return }
            guard let topology = try? RedisClusterTopology.parse(slotsReply: value, from: source) else { continue }
            var served = 0
            for range in topology.ranges {
                served += range.slots.count
                check(
                    range.slots.allSatisfy { topology.primary(forSlot: $0) == range.primary },
                    "a slot of \(range.slots) does not map to \(range.primary)")
            }
            let unserved = topology.unservedSlots.reduce(0) { $0 + $1.count }
            check(served + unserved == RedisClusterSlot.count, "\(served) served + \(unserved) unserved slots")
            check(
                topology.unservedSlots.allSatisfy { $0.allSatisfy { topology.primary(forSlot: $0) == nil } },
                "an unserved slot has a primary")
            check(topology.primary(forSlot: -1) == nil && topology.primary(forSlot: 16384) == nil, "a non-slot")
        }
    }

    /// A broken invariant is a finding: trap so libFuzzer saves the input.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("fuzz invariant: \(message())") }
    }
}
