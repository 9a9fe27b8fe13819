/// A key's two candidate set indices, in lookup order.
public struct FlowCandidates: Sendable, Hashable {
    public var first: UInt32
    public var second: UInt32

    public init(first: UInt32, second: UInt32) {
        self.first = first
        self.second = second
    }

    /// Both, in order (the same index twice when they coincide, as the datapath looks).
    public var indices: [UInt32] { [first, second] }
}

/// One way of the table: a set index and a way in it.
public struct FlowPlace: Sendable, Hashable, CustomStringConvertible {
    public var set: UInt32
    public var way: Int

    public init(set: UInt32, way: Int) {
        self.set = set
        self.way = way
    }

    public var description: String { "set \(set) way \(way)" }
}
