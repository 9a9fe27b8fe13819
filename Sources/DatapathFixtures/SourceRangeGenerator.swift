import DatapathModel
import SwitchyardCore

/// Seeded random source ranges for the differential tests: prefixes of every length around
/// `PacketGenerator`'s client pool (10.0.0-3.1-20 and 2001:db8::1-40), so a list admits some
/// of its clients and drops the others; now and then a match-all, a prefix far from every
/// client, one of the other family, or no list at all.
public struct SourceRangeGenerator: Sendable {
    private var rng: SplitMix64

    public init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    private mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }

    /// A list for a service whose VIP is of `family`: empty one time in ten, else 1 to 5 prefixes.
    public mutating func ranges(for family: IPAddress.Family) -> [IPPrefix] {
        guard below(10) != 0 else { return [] }
        return (0..<(1 + below(5))).compactMap { _ in
            let other: IPAddress.Family = family == .v4 ? .v6 : .v4
            return prefix(below(100) < 85 ? family : other)
        }
    }

    private mutating func prefix(_ family: IPAddress.Family) -> IPPrefix? {
        let nearClients = below(100) < 75
        switch family {
        case .v4:
            let address: IPAddress =
                nearClients
                ? .v4(IPv4Address(10, 0, UInt8(below(5)), UInt8(1 + below(22))))
                : .v4(IPv4Address(UInt32(truncatingIfNeeded: rng.next())))
            let lengths = [0, 8, 16, 22, 23, 24, 26, 27, 28, 29, 30, 31, 32, 32]
            return IPPrefix(covering: address, length: lengths[below(lengths.count)])
        case .v6:
            let address: IPAddress =
                nearClients
                ? .v6(IPv6Address(high: 0x2001_0db8_0000_0000, low: UInt64(1 + below(44))))
                : .v6(IPv6Address(high: rng.next(), low: rng.next()))
            let lengths = [0, 16, 32, 48, 64, 96, 120, 122, 123, 124, 125, 126, 127, 128, 128]
            return IPPrefix(covering: address, length: lengths[below(lengths.count)])
        }
    }

    /// New ranges for one service of `tables`, picked at random: what to give `setSourceRanges`.
    public mutating func change(in tables: DatapathTables) -> (service: ServiceKey, ranges: [IPPrefix])? {
        let keys = tables.services.keys.sorted()
        guard !keys.isEmpty else { return nil }
        let key = keys[below(keys.count)]
        return (key, ranges(for: key.vip.family))
    }
}
