/// An address prefix such as `10.200.0.0/24` or `2001:db8::/64` (address pools, VIP ranges).
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let length: Int

    /// Rejects host bits set below the prefix length, so `10.0.0.1/24` is an error, not a guess.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddress(parts[0]),
            parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let length = Int(parts[1])
        else { return nil }
        self.init(address: address, length: length)
    }

    public init?(address: IPAddress, length: Int) {
        let maxLength = address.family == .v4 ? 32 : 128
        guard (0...maxLength).contains(length) else { return nil }
        self.address = address
        self.length = length
        guard contains(address), IPPrefix.masked(address, length) == address else { return nil }
    }

    /// The prefix of `length` bits that holds `address` (host bits cleared): what an operator
    /// who wrote `10.0.0.1/8` meant. Nil for a length out of range.
    public init?(covering address: IPAddress, length: Int) {
        guard (0...(address.family == .v4 ? 32 : 128)).contains(length) else { return nil }
        self.init(address: IPPrefix.masked(address, length), length: length)
    }

    public func contains(_ other: IPAddress) -> Bool {
        other.family == address.family && IPPrefix.masked(other, length) == IPPrefix.masked(address, length)
    }

    private static func masked(_ address: IPAddress, _ length: Int) -> IPAddress {
        switch address {
        case .v4(let a):
            let mask: UInt32 = length == 0 ? 0 : ~UInt32(0) << (32 - length)
            return .v4(IPv4Address(a.value & mask))
        case .v6(let a):
            let highMask: UInt64 = length == 0 ? 0 : (length >= 64 ? ~0 : ~UInt64(0) << (64 - length))
            let lowMask: UInt64 = length <= 64 ? 0 : (length == 128 ? ~0 : ~UInt64(0) << (128 - length))
            return .v6(IPv6Address(high: a.high & highMask, low: a.low & lowMask))
        }
    }

    public var description: String { "\(address)/\(length)" }
}
