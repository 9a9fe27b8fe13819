/// An AFI/SAFI pair (RFC 4760 §3). Only unicast IPv4 and IPv6 are spoken; other pairs are kept
/// as numbers so an OPEN or ROUTE-REFRESH naming them still decodes.
public struct BGPAddressFamily: Hashable, Sendable, CustomStringConvertible {
    /// IANA Address Family Identifier: 1 IPv4, 2 IPv6.
    public var afi: UInt16
    /// IANA Subsequent Address Family Identifier: 1 unicast.
    public var safi: UInt8

    public init(afi: UInt16, safi: UInt8) {
        self.afi = afi
        self.safi = safi
    }

    public static let ipv4Unicast = BGPAddressFamily(afi: 1, safi: 1)
    public static let ipv6Unicast = BGPAddressFamily(afi: 2, safi: 1)

    /// The address width of the AFI, or nil for a family whose prefixes we do not parse.
    var addressBytes: Int? {
        guard safi == 1 else { return nil }
        switch afi {
        case 1: return 4
        case 2: return 16
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .ipv4Unicast: "ipv4-unicast"
        case .ipv6Unicast: "ipv6-unicast"
        default: "afi \(afi)/safi \(safi)"
        }
    }
}
