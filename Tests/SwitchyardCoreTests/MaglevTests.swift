import Testing

@testable import SwitchyardCore

@Suite struct MaglevTests {
    static func members(_ n: Int, weight: UInt16 = 1) -> [MaglevTable.Member] {
        MaglevReport.members(count: n, weights: [weight])
    }

    @Test(arguments: [1, 3, 10, 100, 500])
    func everySlotFilledAndBalanced(_ n: Int) {
        let table = MaglevTable(members: Self.members(n), size: 65537)
        #expect(!table.slots.contains(MaglevTable.empty))
        let counts = table.slotCounts
        // Unweighted Maglev gives every backend ⌊M/N⌋ or ⌈M/N⌉ slots.
        #expect(counts.max()! - counts.min()! <= 1)
        #expect(MaglevReport(members: Self.members(n), size: 65537).maxOverIdeal <= 1.01)
    }

    @Test func weightsAreProportional() {
        let weights: [UInt16] = [1, 2, 3, 5, 1, 10]
        let members = MaglevReport.members(count: weights.count, weights: weights)
        let table = MaglevTable(members: members, size: 65537)
        let counts = table.slotCounts
        let total = Double(weights.reduce(0) { $0 + Int($1) })
        for (count, weight) in zip(counts, weights) {
            let ideal = 65537 * Double(weight) / total
            #expect(abs(Double(count) / ideal - 1) < 0.01, "weight \(weight): \(count) slots, ideal \(ideal)")
        }
        // A backend of weight 2 gets twice the slots of one of weight 1, within 1%.
        #expect(abs(Double(counts[1]) / Double(counts[0]) - 2) < 0.02)
    }

    @Test func weightZeroGetsNothing() {
        var members = Self.members(5)
        members[2].weight = 0
        let table = MaglevTable(members: members, size: 1009)
        #expect(table.slotCounts[2] == 0)
        #expect(!table.slots.contains(MaglevTable.empty))
    }

    @Test func noMembersMeansEmptyRing() {
        #expect(MaglevTable(members: [], size: 251).slots.allSatisfy { $0 == MaglevTable.empty })
        let zero = MaglevTable(members: Self.members(3, weight: 0), size: 251)
        #expect(zero.slots.allSatisfy { $0 == MaglevTable.empty })
    }

    @Test func independentOfListOrder() {
        let members = MaglevReport.members(count: 50, weights: [1, 2, 3])
        var rng = SplitMix64(seed: 7)
        var shuffled = members
        for i in stride(from: shuffled.count - 1, to: 0, by: -1) {
            shuffled.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        #expect(shuffled != members)
        #expect(
            MaglevTable(members: members, size: 65537).identities
                == MaglevTable(members: shuffled, size: 65537).identities)
    }

    /// The same set gives the same table in any process on any machine: pinned by a digest of
    /// the table, which only a change to the algorithm or the hash may move.
    @Test func identicalAcrossProcesses() {
        let table = MaglevTable(members: Self.members(7), size: 251)
        let digest = SwitchyardHash.hash(words: table.slots.map { UInt64(bitPattern: Int64($0)) }, seed: 0)
        let again = MaglevTable(members: Self.members(7), size: 251)
        #expect(table == again)
        #expect(digest == Self.pinnedDigest, "digest 0x\(String(digest, radix: 16)): the Maglev table changed")
    }
    static let pinnedDigest: UInt64 = 17_483_112_465_694_218_171

    @Test(arguments: [10, 100, 1000])
    func minimalDisruption(_ n: Int) {
        let report = MaglevReport(members: Self.members(n), size: 65537)
        // Removing one of N moves about 1/N of the slots, and little else.
        #expect(abs(report.removeOne.moved - 1 / Double(n)) < 0.5 / Double(n) + 0.02)
        #expect(report.removeOne.collateral <= 0.02)
        #expect(report.addOne.collateral <= 0.02)
        #expect(report.removeOne.collateral < report.removeOne.moved)
    }

    @Test func primes() {
        #expect(Primes.isPrime(65537))
        #expect(Primes.isPrime(655373))
        #expect(!Primes.isPrime(65536))
        #expect(!Primes.isPrime(1))
        #expect(Primes.next(atLeast: 65536) == 65537)
    }
}
