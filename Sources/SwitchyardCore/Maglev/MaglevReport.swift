/// The quality figures of `switchyard maglev`: balance and disruption for a synthetic backend
/// set. Pure: timing is measured by the caller.
public struct MaglevReport: Sendable, Equatable {
    public var backends: Int
    public var size: Int
    /// Max over backends of (slots owned ÷ the backend's ideal share by weight).
    public var maxOverIdeal: Double
    public var removeOne: MaglevDisruption
    public var addOne: MaglevDisruption

    /// Synthetic backend `i`: 10.1.x.y:80, distinct for i < 65536; the added one is 10.2.0.1:80.
    public static func syntheticMember(_ i: Int, weight: UInt16) -> MaglevTable.Member {
        .init(
            identity: BackendIdentity(
                address: .v4(IPv4Address(10, 1, UInt8(i >> 8 & 0xff), UInt8(i & 0xff))), port: 80),
            weight: weight)
    }

    public static func members(count: Int, weights: [UInt16]) -> [MaglevTable.Member] {
        (0..<count).map { syntheticMember($0, weight: weights.isEmpty ? 1 : weights[$0 % weights.count]) }
    }

    public init(members: [MaglevTable.Member], size: Int) {
        let table = MaglevTable(members: members, size: size)
        backends = members.count
        self.size = size
        let totalWeight = members.reduce(0) { $0 + Double($1.weight) }
        maxOverIdeal =
            zip(table.slotCounts, members).map { count, member in
                member.weight == 0 ? 0 : Double(count) / (Double(size) * Double(member.weight) / totalWeight)
            }.max() ?? 0
        // Remove the backend in the middle of the list: any one would do, this one is fixed.
        var fewer = members
        if !fewer.isEmpty { fewer.remove(at: members.count / 2) }
        removeOne = MaglevDisruption(before: table, after: MaglevTable(members: fewer, size: size))
        let added = MaglevTable.Member(
            identity: BackendIdentity(address: .v4(IPv4Address(10, 2, 0, 1)), port: 80),
            weight: members.map(\.weight).max() ?? 1)
        addOne = MaglevDisruption(before: table, after: MaglevTable(members: members + [added], size: size))
    }
}
