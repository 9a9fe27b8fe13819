import SwitchyardABI

/// Where a key may live in the flow table: the one place that knows the table's shape
/// (switchyard_abi.h: `SY_FLOW_WAYS`, `sy_flow_set_count`, `sy_flow_set_first`/`_second`,
/// `sy_flow_tag`). The loader sizes the kernel map from it, the model and user-space installs
/// place entries through it, so the shape changes here (and in the header) and nowhere else.
///
/// Two candidate sets per key ("two choices", Azar et al., "Balanced allocations", 1994): a new
/// flow goes to the emptier of its two sets, which keeps sets evenly loaded. Sized at
/// `SY_FLOW_SLOTS_PER_100` (115) ways per 100 configured flows, a table holds ~99.7% of its
/// capacity in random flows (one set of 4 ways per key held ~82%; 110 ways would hold ~99.2%).
public struct FlowTableLayout: Sendable, Hashable, CustomStringConvertible {
    /// Ways per set.
    public static let ways = Int(SY_FLOW_WAYS)

    /// Number of sets: any count (set indices are multiply-high reductions, not masks).
    public let setCount: Int

    /// The table the loader makes for `capacity` configured flows (`sy_flow_set_count`).
    public init(capacity: Int) {
        setCount = Int(sy_flow_set_count(UInt64(max(0, capacity))))
    }

    /// A table of `setCount` sets, as `sy_node.flow_set_count` (or the map's size) says.
    public init(setCount: UInt32) { self.setCount = max(1, Int(setCount)) }

    /// Ways in the whole table.
    public var slots: Int { setCount * Self.ways }
    public var description: String { "\(setCount) sets × \(Self.ways) ways, two choices" }

    /// The two sets a key with this hash may live in, looked at in this order (they may be one).
    public func candidates(_ hash: UInt64) -> FlowCandidates {
        FlowCandidates(
            first: sy_flow_set_first(hash, UInt32(setCount)), second: sy_flow_set_second(hash, UInt32(setCount)))
    }

    /// The tag a way holds for a key of this hash; never 0, which marks an empty way.
    public static func tag(_ hash: UInt64) -> UInt32 { sy_flow_tag(hash) }

    /// The way an insert takes when it is empty; lookups read it first (`sy_flow_preferred_way`).
    public static func preferredWay(_ tag: UInt32) -> UInt32 { sy_flow_preferred_way(tag) }

    /// The entry's integrity check: a way torn by two writers fails it.
    public static func check(tag: UInt32, backend: UInt32, service: UInt32) -> UInt32 {
        sy_flow_check(tag, backend, service)
    }
}
