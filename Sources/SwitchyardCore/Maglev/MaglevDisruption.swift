/// How much of a Maglev table changes when the backend set changes.
public struct MaglevDisruption: Sendable, Equatable {
    /// Fraction of all slots whose backend changed.
    public var moved: Double
    /// Fraction of all slots that changed although their old backend is still present: traffic
    /// moved for no reason of its own (the paper's "disruption" beyond the minimum).
    public var collateral: Double

    public init(before: MaglevTable, after: MaglevTable) {
        precondition(before.size == after.size, "compare tables of one size")
        let survivors = Set(after.members.filter { $0.weight > 0 }.map(\.identity))
        let old = before.identities, new = after.identities
        var moved = 0, collateral = 0
        for slot in 0..<before.size where old[slot] != new[slot] {
            moved += 1
            if let owner = old[slot], survivors.contains(owner) { collateral += 1 }
        }
        self.moved = Double(moved) / Double(before.size)
        self.collateral = Double(collateral) / Double(before.size)
    }
}
