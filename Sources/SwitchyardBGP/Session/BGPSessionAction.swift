import SwitchyardCore

/// What the session asks its handler to do; the handler executes these in order and decides nothing.
public enum BGPSessionAction: Hashable, Sendable {
    /// Open a TCP connection to the peer (port 179).
    case connect
    /// Close the connection to the peer (or abandon a connect in progress).
    case close
    /// Close the connection that `tcpConnected` just reported, leaving the session's own alone:
    /// we are active-only, so a second connection is refused rather than resolved (RFC 4271 §6.8).
    case refuseConnection
    case send(BGPMessage)
    /// (Re)arm the timer of this kind to fire at this instant; one timer per kind.
    case armTimer(BGPTimerKind, at: Duration)
    case cancelTimer(BGPTimerKind)
    /// The session reached Established with what both sides agreed.
    case established(BGPNegotiatedSession)
    /// Routes from the peer (RFC 7606 handling already applied).
    case routes(BGPUpdate)
    /// The peer asked for everything of a family again (RFC 2918): re-send the Adj-RIB-Out.
    case refreshRequested(BGPAddressFamily)
    /// A session that had sent its OPEN is over; routes learned from it are gone.
    case down(BGPSessionDownReason)
}

/// RFC 4271 §8: the three timers a session runs.
public enum BGPTimerKind: Hashable, Sendable {
    case connectRetry
    case hold
    case keepalive
}

/// Why a session ended, for logs and the agent's decisions.
public enum BGPSessionDownReason: Hashable, Sendable {
    /// We stopped it (the NOTIFICATION we sent says which Cease).
    case stopped(BGPNotification)
    /// We sent this NOTIFICATION because of the peer (bad OPEN, decode error, FSM error, hold timer).
    case sentNotification(BGPNotification)
    /// The peer sent this NOTIFICATION.
    case receivedNotification(BGPNotification)
    /// The TCP connection failed or was closed by the peer without a NOTIFICATION.
    case connectionLost
}

/// What both sides agreed in the OPEN exchange.
public struct BGPNegotiatedSession: Hashable, Sendable {
    public var peerASN: UInt32
    public var peerRouterID: IPv4Address
    /// Seconds; 0 means no keepalives and no hold timer (RFC 4271 §4.4).
    public var holdTime: UInt16
    public var families: Set<BGPAddressFamily>
    public var peerSupportsRouteRefresh: Bool
    public var codecContext: BGPCodecContext

    /// RFC 4271 §4.4 / §10: a third of the hold time.
    public var keepaliveInterval: Duration? {
        holdTime == 0 ? nil : .milliseconds(Int64(holdTime) * 1000 / 3)
    }
}
