/// A BGP community (RFC 1997 §3) a service's VIP is announced with, written `65000:100`: two
/// 16-bit halves, by convention the ASN that defines it and a value. Plain here so the config and
/// the control layer carry it without the BGP codec; the speaker converts it.
public struct RouteCommunity: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }
    public init(asn: UInt16, value: UInt16) { self.value = UInt32(asn) << 16 | UInt32(value) }

    /// `ASN:VALUE`, each a decimal from 0 to 65535.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let asn = Self.decimal(parts[0], as: UInt16.self),
            let value = Self.decimal(parts[1], as: UInt16.self)
        else { return nil }
        self.init(asn: asn, value: value)
    }

    /// GRACEFUL_SHUTDOWN (RFC 8326 §4): the agent adds it itself while the node drains.
    public static let gracefulShutdown = RouteCommunity(asn: 0xffff, value: 0)

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
    public var description: String { "\(value >> 16):\(value & 0xffff)" }

    /// Digits only (no sign, no spaces), within `T`'s range.
    static func decimal<T: FixedWidthInteger>(_ text: some StringProtocol, as: T.Type) -> T? {
        guard !text.isEmpty, text.count <= 10, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return T(text)
    }
}

/// A BGP large community (RFC 8092 §3), written `4200000001:1:2`: a 32-bit global administrator
/// (an ASN, 4-octet ASNs fit) and two 32-bit local values.
public struct LargeRouteCommunity: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var globalAdministrator: UInt32
    public var localData1: UInt32
    public var localData2: UInt32

    public init(_ globalAdministrator: UInt32, _ localData1: UInt32, _ localData2: UInt32) {
        self.globalAdministrator = globalAdministrator
        self.localData1 = localData1
        self.localData2 = localData2
    }

    /// `A:B:C`, each a decimal from 0 to 4294967295.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, let a = RouteCommunity.decimal(parts[0], as: UInt32.self),
            let b = RouteCommunity.decimal(parts[1], as: UInt32.self),
            let c = RouteCommunity.decimal(parts[2], as: UInt32.self)
        else { return nil }
        self.init(a, b, c)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.globalAdministrator, lhs.localData1, lhs.localData2)
            < (rhs.globalAdministrator, rhs.localData1, rhs.localData2)
    }

    public var description: String { "\(globalAdministrator):\(localData1):\(localData2)" }
}
