/// Every fixed number of the BGP-4 wire format, each beside the RFC section that defines it.
public enum BGPWire {
    /// RFC 4271 §4.1: the 16-octet marker, all ones (authentication was removed from BGP-4).
    public static let markerLength = 16
    public static let markerByte: UInt8 = 0xff
    /// RFC 4271 §4.1: marker, 2-octet length, 1-octet type.
    public static let headerLength = 19
    /// RFC 4271 §4.1: no message is longer than 4096 octets. We never advertise the extended message
    /// capability (RFC 8654), so a peer must not send more.
    public static let maxMessageLength = 4096
    /// RFC 4271 §4.2: header + version, My AS, Hold Time, BGP Identifier, Opt Parm Len.
    public static let minOpenLength = 29
    /// RFC 4271 §4.3: header + Withdrawn Routes Length + Total Path Attribute Length.
    public static let minUpdateLength = 23
    /// RFC 4271 §4.4: a KEEPALIVE is the header alone.
    public static let keepaliveLength = 19
    /// RFC 4271 §4.5: header + error code + error subcode.
    public static let minNotificationLength = 21
    /// RFC 2918 §3 / RFC 7313 §5: header + AFI + reserved/subtype + SAFI, exactly.
    public static let routeRefreshLength = 23
    /// RFC 4271 §4.2: the only version spoken.
    public static let version: UInt8 = 4
    /// RFC 6793 §9: the 2-octet stand-in for an ASN that does not fit in 16 bits.
    public static let asTrans: UInt16 = 23456
    /// RFC 4271 §4.2: a hold time is 0 (no keepalives) or at least 3 seconds.
    public static let minNonZeroHoldTime: UInt16 = 3
    /// RFC 5492 §4: optional parameter type 2 carries capabilities.
    public static let capabilitiesParameter: UInt8 = 2
    /// RFC 9072 §2: a non-extended optional-parameters length of 255 followed by type 255 announces
    /// the extended (2-octet lengths) encoding.
    public static let extendedOptionalParameters: UInt8 = 255
    /// RFC 4271 §4.3: an AS_PATH segment holds at most 255 ASNs (1-octet count).
    public static let maxASPathSegmentLength = 255
    /// RFC 9003 §2: the shutdown communication is a 1-octet length and at most 255 octets of UTF-8.
    public static let maxShutdownCommunicationLength = 255
    /// RFC 4271 §4.3: attribute lengths above this need the extended-length flag (2-octet length).
    public static let maxShortAttributeLength = 255
}

/// RFC 4271 §4.1 message types, plus ROUTE-REFRESH (RFC 2918 §3).
public enum BGPMessageType: UInt8, Sendable {
    case open = 1
    case update = 2
    case notification = 3
    case keepalive = 4
    case routeRefresh = 5
}
