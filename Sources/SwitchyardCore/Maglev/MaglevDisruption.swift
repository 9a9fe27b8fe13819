/// How much of a Maglev table changes when the backend set changes.
public struct MaglevDisruption: Sendable, Equatable {
    /// Fraction of all slots whose backend changed.
    public var moved: Double
    /// Fraction of all slots that changed although neither their old backend left nor their new
    /// backend joined: traffic moved between backends that both stayed (the paper's disruption
    /// beyond the minimum, §5.3).
    public var collateral: Double

    public init(before: MaglevTable, after: MaglevTable) {
        precondition(before.size == after.size, "compare tables of one size")
        let old = before.identities
        let new = after.identities
        let oldSet = Set(old.compactMap { $0 })
        let newSet = Set(new.compactMap { $0 })
        var moved = 0
        var collateral = 0
        for slot in 0..<before.size where old[slot] != new[slot] {
            moved += 1
            let ownerLeft = old[slot].map { !newSet.contains($0) } ?? true
            let ownerJoined = new[slot].map { !oldSet.contains($0) } ?? true
            if !ownerLeft && !ownerJoined { collateral += 1 }
        }
        self.moved = Double(moved) / Double(before.size)
        self.collateral = Double(collateral) / Double(before.size)
    }
}
