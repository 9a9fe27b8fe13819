import SwitchyardCore

/// The path attributes of one UPDATE (RFC 4271 §5), decoded. Attributes nobody here acts on but
/// that must travel on (unknown optional transitive ones, RFC 4271 §5) stay in `otherAttributes`.
public struct BGPPathAttributes: Hashable, Sendable {
    public var origin: BGPOrigin?
    public var asPath: [BGPASPathSegment]?
    public var nextHop: IPv4Address?
    public var multiExitDiscriminator: UInt32?
    public var localPreference: UInt32?
    public var atomicAggregate: Bool
    public var communities: [BGPCommunity]
    public var largeCommunities: [BGPLargeCommunity]
    public var multiprotocolReach: BGPMultiprotocolReach?
    public var multiprotocolUnreach: BGPMultiprotocolUnreach?
    public var otherAttributes: [BGPRawAttribute]

    public init(
        origin: BGPOrigin? = nil, asPath: [BGPASPathSegment]? = nil, nextHop: IPv4Address? = nil,
        multiExitDiscriminator: UInt32? = nil, localPreference: UInt32? = nil, atomicAggregate: Bool = false,
        communities: [BGPCommunity] = [], largeCommunities: [BGPLargeCommunity] = [],
        multiprotocolReach: BGPMultiprotocolReach? = nil,
        multiprotocolUnreach: BGPMultiprotocolUnreach? = nil, otherAttributes: [BGPRawAttribute] = []
    ) {
        self.origin = origin
        self.asPath = asPath
        self.nextHop = nextHop
        self.multiExitDiscriminator = multiExitDiscriminator
        self.localPreference = localPreference
        self.atomicAggregate = atomicAggregate
        self.communities = communities
        self.largeCommunities = largeCommunities
        self.multiprotocolReach = multiprotocolReach
        self.multiprotocolUnreach = multiprotocolUnreach
        self.otherAttributes = otherAttributes
    }

    /// Attribute type codes (IANA "BGP Path Attributes").
    public enum TypeCode {
        public static let origin: UInt8 = 1
        public static let asPath: UInt8 = 2
        public static let nextHop: UInt8 = 3
        public static let multiExitDiscriminator: UInt8 = 4
        public static let localPreference: UInt8 = 5
        public static let atomicAggregate: UInt8 = 6
        public static let aggregator: UInt8 = 7
        public static let communities: UInt8 = 8
        public static let multiprotocolReach: UInt8 = 14
        public static let multiprotocolUnreach: UInt8 = 15
        public static let largeCommunity: UInt8 = 32
    }

    /// Attribute flags (RFC 4271 §4.3).
    public enum Flag {
        public static let optional: UInt8 = 0x80
        public static let transitive: UInt8 = 0x40
        public static let partial: UInt8 = 0x20
        public static let extendedLength: UInt8 = 0x10
    }
}

/// ORIGIN (RFC 4271 §5.1.1).
public enum BGPOrigin: UInt8, Hashable, Sendable {
    case igp = 0
    case egp = 1
    case incomplete = 2
}

/// One AS_PATH segment (RFC 4271 §4.3, confederation types from RFC 5065 §3).
public struct BGPASPathSegment: Hashable, Sendable {
    public enum Kind: UInt8, Hashable, Sendable {
        case set = 1
        case sequence = 2
        case confederationSequence = 3
        case confederationSet = 4
    }

    public var kind: Kind
    public var asns: [UInt32]

    public init(_ kind: Kind, _ asns: [UInt32]) {
        self.kind = kind
        self.asns = asns
    }
}

/// A COMMUNITIES value (RFC 1997): two 16-bit halves, conventionally ASN:value.
public struct BGPCommunity: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }
    public init(asn: UInt16, value: UInt16) { self.value = UInt32(asn) << 16 | UInt32(value) }

    /// RFC 8326 §5: "this path is about to go away"; receivers lower its preference.
    public static let gracefulShutdown = BGPCommunity(asn: 0xffff, value: 0)
    /// RFC 1997: do not advertise outside the AS (confederation).
    public static let noExport = BGPCommunity(0xffff_ff01)

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
    public var description: String { "\(value >> 16):\(value & 0xffff)" }
}

/// A LARGE_COMMUNITY value (RFC 8092 §3): three 32-bit parts.
public struct BGPLargeCommunity: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var globalAdministrator: UInt32
    public var localData1: UInt32
    public var localData2: UInt32

    public init(_ globalAdministrator: UInt32, _ localData1: UInt32, _ localData2: UInt32) {
        self.globalAdministrator = globalAdministrator
        self.localData1 = localData1
        self.localData2 = localData2
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.globalAdministrator, lhs.localData1, lhs.localData2)
            < (rhs.globalAdministrator, rhs.localData1, rhs.localData2)
    }

    public var description: String { "\(globalAdministrator):\(localData1):\(localData2)" }
}

/// The next hop of an MP_REACH_NLRI (RFC 4760 §3). For IPv6 a link-local address may follow the
/// global one (RFC 2545 §3: 32 octets), which BIRD and FRR both send on a shared link.
public enum BGPNextHop: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(global: IPv6Address, linkLocal: IPv6Address?)

    var encodedLength: Int {
        switch self {
        case .v4: 4
        case .v6(_, let linkLocal): linkLocal == nil ? 16 : 32
        }
    }

    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let global, let linkLocal?): "\(global) (\(linkLocal))"
        case .v6(let global, nil): global.description
        }
    }
}

/// MP_REACH_NLRI (RFC 4760 §3) of a family whose prefixes we parse.
public struct BGPMultiprotocolReach: Hashable, Sendable {
    public var family: BGPAddressFamily
    public var nextHop: BGPNextHop
    public var announced: [IPPrefix]

    public init(family: BGPAddressFamily, nextHop: BGPNextHop, announced: [IPPrefix]) {
        self.family = family
        self.nextHop = nextHop
        self.announced = announced
    }
}

/// MP_UNREACH_NLRI (RFC 4760 §4); empty `withdrawn` is that family's End-of-RIB (RFC 4724 §2).
public struct BGPMultiprotocolUnreach: Hashable, Sendable {
    public var family: BGPAddressFamily
    public var withdrawn: [IPPrefix]

    public init(family: BGPAddressFamily, withdrawn: [IPPrefix]) {
        self.family = family
        self.withdrawn = withdrawn
    }
}

/// An attribute kept as bytes: flags as received (minus extended length, which the writer picks),
/// type and value.
public struct BGPRawAttribute: Hashable, Sendable {
    public var flags: UInt8
    public var type: UInt8
    public var value: [UInt8]

    public init(flags: UInt8, type: UInt8, value: [UInt8]) {
        self.flags = flags & ~BGPPathAttributes.Flag.extendedLength
        self.type = type
        self.value = value
    }
}
