import SwitchyardABI

/// Where a key may live in the flow table: the one place that knows the table's shape
/// (switchyard_abi.h: `SY_FLOW_WAYS`, `sy_flow_set_index`, `sy_flow_tag`). The loader sizes the
/// kernel map from it, the model and user-space installs place entries through it, so a change of
/// ways or a second candidate set is made here (and in the header) and nowhere else.
public struct FlowTableLayout: Sendable, Hashable, CustomStringConvertible {
    /// Ways per set.
    public static let ways = Int(SY_FLOW_WAYS)

    /// Number of sets, a power of two (the set index is a mask of the hash).
    public let setCount: Int

    /// The smallest table of whole power-of-two sets that holds `capacity` entries.
    public init(capacity: Int) {
        var sets = 1
        while sets * Self.ways < capacity { sets <<= 1 }
        setCount = sets
    }

    /// A table of `setMask + 1` sets, as `sy_node.flow_set_mask` says.
    public init(setMask: UInt32) { setCount = Int(setMask) + 1 }

    public var setMask: UInt32 { UInt32(setCount - 1) }
    public var capacity: Int { setCount * Self.ways }
    public var description: String { "\(setCount) sets × \(Self.ways) ways" }

    /// The set a key with this hash lives in. (A second candidate set would be a second function
    /// beside this one, and `FlowTableModel.find`/`victim` would walk both.)
    public func setIndex(_ hash: UInt64) -> UInt32 { sy_flow_set_index(hash, setMask) }

    /// The tag a way holds for a key of this hash; never 0, which marks an empty way.
    public static func tag(_ hash: UInt64) -> UInt32 { sy_flow_tag(hash) }

    /// The entry's integrity check: a way torn by two writers fails it.
    public static func check(tag: UInt32, backend: UInt32, service: UInt32) -> UInt32 {
        sy_flow_check(tag, backend, service)
    }
}
