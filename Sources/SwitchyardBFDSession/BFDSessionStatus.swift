import SwitchyardBFD
import SwitchyardCore

/// One session as `switchyard status` and the metrics show it.
public struct BFDSessionStatus: Hashable, Sendable {
    public var peer: BFDPeerConfiguration
    public var state: BFDState
    public var remoteState: BFDState
    /// Why our state last changed (RFC 5880 §4.1 Diag).
    public var localDiagnostic: BFDDiagnostic
    /// The Diag the peer last sent.
    public var remoteDiagnostic: BFDDiagnostic
    public var localDiscriminator: UInt32
    public var remoteDiscriminator: UInt32
    /// The pace of our packets and how long the peer may stay silent, as negotiated now.
    public var transmitInterval: Duration
    public var detectionTime: Duration
    public var packetsSent: Int
    /// Packets that reached the state machine.
    public var packetsReceived: Int
    /// sendto failures (e.g. the link is down); the session carries on.
    public var sendErrors: Int
    /// Received packets not believed, by reason.
    public var discarded: [BFDDiscardReason: Int]
    /// Time since the last state change, when there was one.
    public var sinceLastChange: Duration?
}
