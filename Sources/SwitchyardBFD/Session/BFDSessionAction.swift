/// What a BFD session asks its executor to do, in order; the executor decides nothing.
public enum BFDSessionAction: Hashable, Sendable {
    /// Send this packet to the peer now.
    case send(BFDControlPacket)
    /// (Re)arm the timer of this kind to fire at this instant; one timer per kind.
    case armTimer(BFDTimerKind, at: Duration)
    case cancelTimer(BFDTimerKind)
    /// The local session state changed; `to == .down` carries the diagnostic that says why.
    case stateChanged(BFDStateChange)
    /// A received packet was not believed (counted, otherwise ignored).
    case discarded(BFDDiscardReason)
    /// An administrative stop has told the peer for long enough (§6.8.16): close the socket.
    case finished
}

public enum BFDTimerKind: Hashable, Sendable {
    /// The next periodic Control packet (§6.8.7).
    case transmit
    /// The peer's Detection Time (§6.8.4): no packet by then means it is gone.
    case detection
}

/// One change of the local session state, for logs, status and the BGP hook.
public struct BFDStateChange: Hashable, Sendable, CustomStringConvertible {
    public var from: BFDState
    public var to: BFDState
    public var diagnostic: BFDDiagnostic
    /// The peer's state as last heard when the change happened.
    public var peerState: BFDState

    public init(from: BFDState, to: BFDState, diagnostic: BFDDiagnostic, peerState: BFDState = .down) {
        self.from = from
        self.to = to
        self.diagnostic = diagnostic
        self.peerState = peerState
    }

    /// An Up session lost its peer (timeout, or the peer said Down): what should take a client
    /// such as BGP down (RFC 5882 §4.3). Not AdminDown on either side, which says BFD is being
    /// turned off rather than the path failing (§3.2).
    public var isPathLoss: Bool {
        from == .up && to == .down && peerState != .adminDown
    }

    public var description: String {
        diagnostic == .none ? "\(from) -> \(to)" : "\(from) -> \(to) (\(diagnostic))"
    }
}
