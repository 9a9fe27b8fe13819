import NIOCore

/// A ROUTE-REFRESH (RFC 2918 §3): "send me everything of this family again". The subtype octet
/// is RFC 7313's (0 normal request, 1 BoRR, 2 EoRR); we never advertise enhanced route refresh.
public struct BGPRouteRefresh: Hashable, Sendable {
    public var family: BGPAddressFamily
    public var subtype: UInt8

    public init(family: BGPAddressFamily, subtype: UInt8 = 0) {
        self.family = family
        self.subtype = subtype
    }

    static func read(body: inout ByteBuffer) -> BGPRouteRefresh? {
        guard let afi = body.readInteger(as: UInt16.self), let subtype = body.readInteger(as: UInt8.self),
            let safi = body.readInteger(as: UInt8.self)
        else { return nil }
        return BGPRouteRefresh(family: BGPAddressFamily(afi: afi, safi: safi), subtype: subtype)
    }

    func write(into buffer: inout ByteBuffer) {
        buffer.writeInteger(family.afi)
        buffer.writeInteger(subtype)
        buffer.writeInteger(family.safi)
    }
}
