import SwitchyardCore

/// What one session is configured with. Validated once here, so the state machine never meets a
/// hold time RFC 4271 forbids.
public struct BGPSessionConfiguration: Hashable, Sendable {
    public var localASN: UInt32
    public var routerID: IPv4Address
    public var peerASN: UInt32
    /// Seconds we offer; the session uses the smaller of both offers (RFC 4271 §4.2).
    public var holdTime: UInt16
    public var families: [BGPAddressFamily]
    /// The first wait before reconnecting; doubled per consecutive failure up to `maxConnectRetry`.
    public var connectRetry: Duration
    /// RFC 4271 §10 suggests 120 s for ConnectRetryTime; the backoff never waits longer.
    public var maxConnectRetry: Duration
    /// RFC 4271 §8.2.2: the hold timer while waiting for the peer's OPEN ("a large value", 4 min).
    public var openHoldTime: Duration

    public enum Invalid: Error, Hashable, Sendable {
        /// RFC 4271 §4.2: 0 or at least 3 seconds.
        case holdTime(UInt16)
        case noFamilies
        case routerIDZero
    }

    public init(
        localASN: UInt32, routerID: IPv4Address, peerASN: UInt32, holdTime: UInt16 = 90,
        families: [BGPAddressFamily] = [.ipv4Unicast, .ipv6Unicast], connectRetry: Duration = .seconds(5),
        maxConnectRetry: Duration = .seconds(120), openHoldTime: Duration = .seconds(240)
    )
        throws(Invalid)
    {
        guard holdTime == 0 || holdTime >= BGPWire.minNonZeroHoldTime else { throw .holdTime(holdTime) }
        guard !families.isEmpty else { throw .noFamilies }
        guard !routerID.isUnspecified else { throw .routerIDZero }
        self.localASN = localASN
        self.routerID = routerID
        self.peerASN = peerASN
        self.holdTime = holdTime
        self.families = families
        self.connectRetry = connectRetry
        self.maxConnectRetry = maxConnectRetry
        self.openHoldTime = openHoldTime
    }

    /// eBGP when the ASNs differ (RFC 4271 §1.1).
    public var peerIsExternal: Bool { localASN != peerASN }

    /// The OPEN this side sends.
    public var open: BGPOpen {
        BGPOpen(asn: localASN, holdTime: holdTime, identifier: routerID, families: families)
    }
}
