/// A Maglev lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
/// Balancer", NSDI 2016, §3.4), weighted.
///
/// Each backend walks its own permutation of the slots, `offset + j * skip (mod M)`, and claims
/// the next free slot in turn. Weights: every round each backend earns its weight in credit and
/// claims one slot per `maxWeight` of credit, so a backend of weight 2 claims twice as many slots
/// as one of weight 1 and the heaviest claims one per round, as in the unweighted algorithm.
///
/// The table depends only on the *set* of backends: they are visited in the order of their
/// identity (address, then port), and `offset`/`skip` come from `SwitchyardHash` with fixed
/// seeds, so every LB node builds the same table from the same set.
public struct MaglevTable: Sendable, Equatable {
    /// A ring member: who it is and how much traffic it should take.
    public struct Member: Sendable, Hashable {
        public var identity: BackendIdentity
        public var weight: UInt16
        public init(identity: BackendIdentity, weight: UInt16) {
            self.identity = identity
            self.weight = weight
        }
    }

    public static let empty: Int32 = -1

    public let size: Int
    /// For each slot, the index into `members` as given to `init`, or `MaglevTable.empty`.
    public let slots: [Int32]
    public let members: [Member]

    /// Builds the table. `size` must be prime (so every `skip` generates a full permutation).
    /// Members of weight 0 get no slots; duplicates of one identity are a caller error.
    public init(members: [Member], size: Int) {
        precondition(Primes.isPrime(size), "Maglev table size must be prime")
        self.size = size
        self.members = members
        slots = MaglevTable.populate(members: members, size: size)
    }

    private static func populate(members: [Member], size: Int) -> [Int32] {
        var table = [Int32](repeating: empty, count: size)
        // Visit in identity order: the result must not depend on the caller's order.
        let order = members.indices
            .filter { members[$0].weight > 0 }
            .sorted { members[$0].identity < members[$1].identity }
        guard !order.isEmpty else { return table }

        let count = order.count
        var position = [Int](repeating: 0, count: count)
        var skip = [Int](repeating: 0, count: count)
        var weight = [Int](repeating: 0, count: count)
        var credit = [Int](repeating: 0, count: count)
        for (rank, index) in order.enumerated() {
            let identity = members[index].identity
            position[rank] = Int(identity.hash(seed: SwitchyardHash.maglevOffsetSeed) % UInt64(size))
            skip[rank] = Int(identity.hash(seed: SwitchyardHash.maglevSkipSeed) % UInt64(size - 1)) + 1
            weight[rank] = Int(members[index].weight)
        }
        let maxWeight = weight.max()!

        table.withUnsafeMutableBufferPointer { table in
            var filled = 0
            while true {
                for rank in 0..<count {
                    credit[rank] += weight[rank]
                    guard credit[rank] >= maxWeight else { continue }
                    credit[rank] -= maxWeight
                    // Walk this backend's permutation to its next free slot. The position is
                    // advanced by addition with one conditional subtraction: no division.
                    var slot = position[rank]
                    let step = skip[rank]
                    while table[slot] != empty {
                        slot += step
                        if slot >= size { slot -= size }
                    }
                    table[slot] = Int32(order[rank])
                    slot += step
                    if slot >= size { slot -= size }
                    position[rank] = slot
                    filled += 1
                    if filled == size { return }
                }
            }
        }
        return table
    }

    /// Slots owned by each member, indexed like `members`.
    public var slotCounts: [Int] {
        var counts = [Int](repeating: 0, count: members.count)
        for slot in slots where slot != MaglevTable.empty { counts[Int(slot)] += 1 }
        return counts
    }

    /// The member identity in each slot (nil where empty): compare tables built from different
    /// member lists.
    public var identities: [BackendIdentity?] {
        slots.map { $0 == MaglevTable.empty ? nil : members[Int($0)].identity }
    }
}
