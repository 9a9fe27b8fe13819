import SwitchyardCore

/// Which primary serves each hash slot, and its replicas, as one node reported it.
///
/// Learnt with `CLUSTER SLOTS` rather than `CLUSTER SHARDS`: SLOTS answers on every Redis from
/// 3.0 (SHARDS needs 7.0, and managed offerings lag), its reply is the compact shape the store
/// needs (slot range → primary, replicas), and 7.0 still serves it. A slot that no range names is
/// unserved (the cluster is resharding or lost a shard): writes for it are retried later.
public struct RedisClusterTopology: Sendable, Equatable {
    /// A range of slots and the nodes that hold it.
    public struct SlotRange: Sendable, Equatable {
        public var slots: ClosedRange<Int>
        public var primary: HostPort
        public var replicas: [HostPort]

        public init(slots: ClosedRange<Int>, primary: HostPort, replicas: [HostPort] = []) {
            self.slots = slots
            self.primary = primary
            self.replicas = replicas
        }
    }

    /// Sorted by first slot; no two overlap.
    public let ranges: [SlotRange]
    /// Per slot, the index of its range in `ranges`; `unserved` where none.
    private let owner: [UInt16]
    private static let unserved = UInt16.max

    /// Throws when two ranges overlap or a range is outside 0...16383.
    public init(ranges: [SlotRange]) throws(ParseError) {
        let sorted = ranges.sorted { $0.slots.lowerBound < $1.slots.lowerBound }
        var owner = [UInt16](repeating: Self.unserved, count: RedisClusterSlot.count)
        for (index, range) in sorted.enumerated() {
            guard range.slots.lowerBound >= 0, range.slots.upperBound < RedisClusterSlot.count else {
                throw .slotOutOfRange(entry: index, range.slots.lowerBound, range.slots.upperBound)
            }
            for slot in range.slots {
                guard owner[slot] == Self.unserved else { throw .overlap(slot: slot) }
                owner[slot] = UInt16(index)
            }
        }
        self.ranges = sorted
        self.owner = owner
    }

    /// The primary serving `slot`; nil if no node does (or `slot` is not a slot).
    public func primary(forSlot slot: Int) -> HostPort? {
        guard owner.indices.contains(slot), owner[slot] != Self.unserved else { return nil }
        return ranges[Int(owner[slot])].primary
    }

    /// Every primary, each once, in slot order.
    public var primaries: [HostPort] {
        var seen: Set<HostPort> = []
        return ranges.map(\.primary).filter { seen.insert($0).inserted }
    }

    /// Every node the topology names, primaries first: where to ask for the next topology.
    public var nodes: [HostPort] {
        var seen: Set<HostPort> = []
        return (ranges.map(\.primary) + ranges.flatMap(\.replicas)).filter { seen.insert($0).inserted }
    }

    /// The slots no primary serves, as ranges.
    public var unservedSlots: [ClosedRange<Int>] {
        var gaps: [ClosedRange<Int>] = []
        var next = 0
        for range in ranges {
            if range.slots.lowerBound > next { gaps.append(next...(range.slots.lowerBound - 1)) }
            next = range.slots.upperBound + 1
        }
        if next < RedisClusterSlot.count { gaps.append(next...(RedisClusterSlot.count - 1)) }
        return gaps
    }

    /// Why a `CLUSTER SLOTS` reply is not a topology. The node that sent it is not a cluster
    /// node, or is broken: ask another one.
    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The reply is not an array of ranges.
        case notAnArray(String)
        /// Entry `entry` is not [start, end, primary, replicas...].
        case malformedEntry(entry: Int, String)
        case slotOutOfRange(entry: Int, Int, Int)
        /// A node of entry `entry` is not [host, port, ...] with a usable port.
        case malformedNode(entry: Int, String)
        /// Two ranges claim `slot`.
        case overlap(slot: Int)

        public var description: String {
            let next = "ask another cluster node"
            return switch self {
            case .notAnArray(let reply): "CLUSTER SLOTS replied \(reply.prefix(80)), not an array of ranges; \(next)"
            case .malformedEntry(let entry, let text):
                "CLUSTER SLOTS entry \(entry) is \(text.prefix(80)), not [start, end, primary, replicas...]; \(next)"
            case .slotOutOfRange(let entry, let start, let end):
                "CLUSTER SLOTS entry \(entry) names slots \(start)-\(end), outside 0-16383; \(next)"
            case .malformedNode(let entry, let text):
                "CLUSTER SLOTS entry \(entry) has node \(text.prefix(80)), not [host, port, id]; \(next)"
            case .overlap(let slot): "CLUSTER SLOTS names slot \(slot) twice; \(next)"
            }
        }
    }

    /// From a `CLUSTER SLOTS` reply sent by `source`: `[[start, end, [host, port, id, ...] (the
    /// primary), [host, port, id, ...] (replicas)...]...]`. An empty host means `source`'s host;
    /// a primary whose endpoint is unknown (`?` or null) leaves its range unserved, and such a
    /// replica is left out. Never traps: the reply is outside input.
    public static func parse(slotsReply reply: RESPValue, from source: HostPort) throws(ParseError) -> Self {
        guard case .array(let entries?) = reply else { throw .notAnArray("\(reply)") }
        var ranges: [SlotRange] = []
        for (index, entry) in entries.enumerated() {
            guard case .array(let parts?) = entry, parts.count >= 3,
                case .integer(let start) = parts[0], case .integer(let end) = parts[1]
            else { throw .malformedEntry(entry: index, "\(entry)") }
            guard start >= 0, start <= end, end < RedisClusterSlot.count else {
                throw .slotOutOfRange(entry: index, start, end)
            }
            guard let primary = try node(parts[2], entry: index, from: source) else { continue }
            var replicas: [HostPort] = []
            for part in parts.dropFirst(3) {
                if let replica = try node(part, entry: index, from: source) { replicas.append(replica) }
            }
            ranges.append(SlotRange(slots: start...end, primary: primary, replicas: replicas))
        }
        return try Self(ranges: ranges)
    }

    /// A node: nil when its endpoint is unknown; throws when it is not [host, port, ...].
    private static func node(_ value: RESPValue, entry: Int, from source: HostPort) throws(ParseError) -> HostPort? {
        guard case .array(let fields?) = value, fields.count >= 2, case .integer(let port) = fields[1] else {
            throw .malformedNode(entry: entry, "\(value)")
        }
        let host: String
        switch fields[0] {
        case .bulk(nil): return nil
        case .bulk, .simple:
            host = fields[0].string ?? ""
        default: throw .malformedNode(entry: entry, "\(value)")
        }
        if host == "?" { return nil }
        do {
            return try HostPort(host: host.isEmpty ? source.host.description : host, port: port)
        } catch {
            throw .malformedNode(entry: entry, "\(value)")
        }
    }
}
