import SwitchyardCore

/// One entry of a pool's `addresses`: the inclusive span `first...last` of one family, parsed
/// from a CIDR (`10.0.0.0/24`, `2001:db8::/120`) or an `a-b` range (`10.0.0.10-10.0.0.20`).
/// Nothing here enumerates a range: a pool may be an IPv6 /64.
public struct AddressRange: Hashable, Sendable, CustomStringConvertible {
    public let first: IPAddress
    public let last: IPAddress

    public var family: IPAddress.Family { first.family }

    /// Fails when the families differ or `first > last`.
    public init?(first: IPAddress, last: IPAddress) {
        guard first.family == last.family, first <= last else { return nil }
        self.first = first
        self.last = last
    }

    /// Parses one pool entry; the error names the entry and says what is wrong with it.
    public init(parsing entry: String) throws(AddressRangeError) {
        let text = entry.trimmingWhitespace
        if text.contains("/") {
            guard let prefix = IPPrefix(text) else {
                throw AddressRangeError(entry: entry, reason: Self.prefixProblem(text))
            }
            let (low, high) = AddressValue.bounds(of: prefix)
            self.first = low
            self.last = high
            return
        }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            let reason = "expected a CIDR (10.0.0.0/24) or a range (10.0.0.1-10.0.0.9)"
            throw AddressRangeError(entry: entry, reason: reason)
        }
        let lowText = parts[0].trimmingWhitespace
        let highText = parts[1].trimmingWhitespace
        guard let low = IPAddress(lowText) else {
            throw AddressRangeError(entry: entry, reason: "\"\(lowText)\" is not an IP address")
        }
        guard let high = IPAddress(highText) else {
            throw AddressRangeError(entry: entry, reason: "\"\(highText)\" is not an IP address")
        }
        guard low.family == high.family else {
            throw AddressRangeError(entry: entry, reason: "the two ends are of different families")
        }
        guard low <= high else {
            throw AddressRangeError(entry: entry, reason: "the first address is above the last")
        }
        self.first = low
        self.last = high
    }

    public func contains(_ address: IPAddress) -> Bool {
        address.family == family && first <= address && address <= last
    }

    /// The number of addresses, saturating at `UInt64.max` (an IPv6 /64 and wider).
    public var size: UInt64 {
        let distance = AddressValue(last).distance(from: AddressValue(first))
        return distance == .max ? .max : distance + 1
    }

    /// IPv4 addresses ending in .0 or .255 inside the range (those `avoidBuggyIPs` skips).
    public var buggyAddressCount: UInt64 {
        guard case .v4(let low) = first, case .v4(let high) = last else { return 0 }
        /// Addresses `<= value` whose last octet is `octet`.
        func upTo(_ value: UInt32, octet: UInt32) -> UInt64 {
            value < octet ? 0 : UInt64((value - octet) / 256) + 1
        }
        var count: UInt64 = 0
        for octet: UInt32 in [0, 255] {
            count += upTo(high.value, octet: octet) - (low.value == 0 ? 0 : upTo(low.value - 1, octet: octet))
        }
        return count
    }

    public var description: String { first == last ? "\(first)" : "\(first)-\(last)" }

    private static func prefixProblem(_ text: String) -> String {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddress(parts[0]) else {
            return "the part before \"/\" is not an IP address"
        }
        let maximum = address.family == .v4 ? 32 : 128
        guard let length = Int(parts[1]), (0...maximum).contains(length) else {
            return "the prefix length must be 0 to \(maximum)"
        }
        return "host bits are set below /\(length) (write the network address)"
    }
}

/// Why a pool entry was rejected, naming the entry: the pool's Valid condition carries it.
public struct AddressRangeError: Error, Hashable, Sendable, CustomStringConvertible {
    public let entry: String
    public let reason: String
    public var description: String { "\"\(entry)\": \(reason)" }
}

/// True when the last octet of an IPv4 address is 0 or 255; never for IPv6.
func isBuggyAddress(_ address: IPAddress) -> Bool {
    guard case .v4(let v4) = address else { return false }
    return v4.value & 0xff == 0 || v4.value & 0xff == 0xff
}

/// An address as a 128-bit number (IPv4 in the low bits) for range arithmetic.
struct AddressValue: Hashable, Comparable {
    var high: UInt64
    var low: UInt64

    init(_ address: IPAddress) {
        switch address {
        case .v4(let a): (high, low) = (0, UInt64(a.value))
        case .v6(let a): (high, low) = (a.high, a.low)
        }
    }

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    func address(family: IPAddress.Family) -> IPAddress {
        family == .v4 ? .v4(IPv4Address(UInt32(truncatingIfNeeded: low))) : .v6(IPv6Address(high: high, low: low))
    }

    /// The next value, nil past the top of the 128-bit space.
    var successor: AddressValue? {
        if low != .max { return AddressValue(high: high, low: low + 1) }
        if high != .max { return AddressValue(high: high + 1, low: 0) }
        return nil
    }

    /// `self - other` for `self >= other`, saturating at `UInt64.max`.
    func distance(from other: AddressValue) -> UInt64 {
        let (lowDifference, borrow) = low.subtractingReportingOverflow(other.low)
        let highDifference = high - other.high - (borrow ? 1 : 0)
        return highDifference == 0 ? lowDifference : .max
    }

    static func < (lhs: Self, rhs: Self) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }

    static func bounds(of prefix: IPPrefix) -> (IPAddress, IPAddress) {
        let value = AddressValue(prefix.address)
        switch prefix.address.family {
        case .v4:
            let hostBits = 32 - prefix.length
            let mask: UInt64 = hostBits == 0 ? 0 : (UInt64(1) << UInt64(hostBits)) - 1
            return (prefix.address, AddressValue(high: 0, low: value.low | mask).address(family: .v4))
        case .v6:
            let hostBits = 128 - prefix.length
            let lowMask: UInt64 = hostBits >= 64 ? .max : (hostBits == 0 ? 0 : (UInt64(1) << UInt64(hostBits)) - 1)
            let highMask: UInt64 =
                hostBits <= 64 ? 0 : (hostBits == 128 ? .max : (UInt64(1) << UInt64(hostBits - 64)) - 1)
            let top = AddressValue(high: value.high | highMask, low: value.low | lowMask)
            return (prefix.address, top.address(family: .v6))
        }
    }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
