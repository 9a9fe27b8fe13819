import NIOCore

/// A capability advertised in OPEN (RFC 5492). The ones we act on are named; everything else a
/// router sends (graceful restart, add-path, FQDN, BGP role…) is kept as `other`, which the
/// session ignores (RFC 5492 §3: an unknown capability is not an error).
public enum BGPCapability: Hashable, Sendable {
    /// RFC 4760 §8: the peer can carry this AFI/SAFI.
    case multiprotocol(BGPAddressFamily)
    /// RFC 2918 §2: the peer answers ROUTE-REFRESH.
    case routeRefresh
    /// RFC 6793 §3: 4-octet ASNs, with the speaker's own ASN.
    case fourOctetASN(UInt32)
    /// RFC 8654 §3: messages up to 65535 octets. Parsed so it is recognised, never advertised.
    case extendedMessage
    /// RFC 7313 §3: BoRR/EoRR markers around a refresh. Parsed, never advertised.
    case enhancedRouteRefresh
    case other(code: UInt8, value: [UInt8])

    /// Capability codes (IANA "Capability Codes").
    public enum Code {
        public static let multiprotocol: UInt8 = 1
        public static let routeRefresh: UInt8 = 2
        public static let extendedMessage: UInt8 = 6
        public static let gracefulRestart: UInt8 = 64
        public static let fourOctetASN: UInt8 = 65
        public static let addPath: UInt8 = 69
        public static let enhancedRouteRefresh: UInt8 = 70
    }

    public var code: UInt8 {
        switch self {
        case .multiprotocol: Code.multiprotocol
        case .routeRefresh: Code.routeRefresh
        case .fourOctetASN: Code.fourOctetASN
        case .extendedMessage: Code.extendedMessage
        case .enhancedRouteRefresh: Code.enhancedRouteRefresh
        case .other(let code, _): code
        }
    }
}

extension BGPCapability {
    /// Reads every capability in one capabilities optional parameter (RFC 5492 §4); a capability
    /// whose length overruns the parameter, or a known one with the wrong length, fails the OPEN.
    static func readAll(from value: inout ByteBuffer) throws(BGPDecodeError) -> [BGPCapability] {
        var capabilities: [BGPCapability] = []
        while value.readableBytes > 0 {
            guard let code = value.readInteger(as: UInt8.self), let length = value.readInteger(as: UInt8.self),
                var body = value.readSlice(length: Int(length))
            else {
                throw .reset(BGPNotification.Code.open, BGPNotification.OpenSubcode.unspecific)
            }
            capabilities.append(try read(code: code, body: &body))
        }
        return capabilities
    }

    private static func read(code: UInt8, body: inout ByteBuffer) throws(BGPDecodeError) -> BGPCapability {
        let malformed = BGPDecodeError.reset(BGPNotification.Code.open, BGPNotification.OpenSubcode.unspecific)
        switch code {
        case Code.multiprotocol:
            // RFC 4760 §8: AFI (2), reserved (1), SAFI (1).
            guard body.readableBytes == 4, let afi = body.readInteger(as: UInt16.self),
                body.readInteger(as: UInt8.self) != nil, let safi = body.readInteger(as: UInt8.self)
            else { throw malformed }
            return .multiprotocol(BGPAddressFamily(afi: afi, safi: safi))
        case Code.routeRefresh:
            guard body.readableBytes == 0 else { throw malformed }
            return .routeRefresh
        case Code.fourOctetASN:
            guard body.readableBytes == 4, let asn = body.readInteger(as: UInt32.self) else { throw malformed }
            return .fourOctetASN(asn)
        case Code.extendedMessage:
            guard body.readableBytes == 0 else { throw malformed }
            return .extendedMessage
        case Code.enhancedRouteRefresh:
            guard body.readableBytes == 0 else { throw malformed }
            return .enhancedRouteRefresh
        default:
            return .other(code: code, value: body.readBytes(length: body.readableBytes) ?? [])
        }
    }

    func write(into buffer: inout ByteBuffer) {
        buffer.writeInteger(code)
        switch self {
        case .multiprotocol(let family):
            buffer.writeInteger(UInt8(4))
            buffer.writeInteger(family.afi)
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(family.safi)
        case .routeRefresh, .extendedMessage, .enhancedRouteRefresh:
            buffer.writeInteger(UInt8(0))
        case .fourOctetASN(let asn):
            buffer.writeInteger(UInt8(4))
            buffer.writeInteger(asn)
        case .other(_, let value):
            buffer.writeInteger(UInt8(truncatingIfNeeded: value.count))
            buffer.writeBytes(value.prefix(Int(UInt8.max)))
        }
    }
}
