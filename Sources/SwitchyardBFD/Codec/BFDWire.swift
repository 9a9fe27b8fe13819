/// The numbers of RFC 5880 (BFD) and RFC 5881 (BFD for single-hop IPv4/IPv6), each beside its
/// section, so the codec, the state machine and the socket layer share one definition.
public enum BFDWire {
    /// RFC 5880 §4.1: the version this codec speaks; packets of any other are discarded (§6.8.6).
    public static let version: UInt8 = 1
    /// RFC 5880 §4.1: the mandatory section, and the least Length a packet without authentication
    /// may carry (§6.8.6).
    public static let mandatoryLength = 24
    /// RFC 5880 §6.8.6: the least Length of a packet with the A bit set (mandatory part plus the
    /// authentication type and length octets).
    public static let minimumAuthenticatedLength = 26
    /// RFC 5881 §4: control packets go to this UDP port.
    public static let controlPort: UInt16 = 3784
    /// RFC 5881 §4: the source port of a session is one from this range, the same for its whole life.
    public static let sourcePortRange: ClosedRange<UInt16> = 49152...65535
    /// RFC 5881 §5 (GTSM, RFC 5082): single-hop packets are sent with TTL / hop limit 255, and a
    /// received packet with anything less has crossed a router and is discarded.
    public static let requiredTTL: UInt8 = 255
    /// RFC 5880 §6.8.3: while a session is not Up, its Desired Min TX Interval is at least 1 s.
    public static let slowTransmitInterval: Duration = .seconds(1)
    /// RFC 5880 §6.8.7: each transmit interval is reduced by a random 0–25 %, that is it lasts
    /// 75–100 % of the negotiated interval …
    public static let jitterFloor = 0.75
    /// … and at most 90 % of it when Detect Mult is 1, so one late packet cannot end the session.
    public static let jitterCeilingForMultiplierOne = 0.90
}
