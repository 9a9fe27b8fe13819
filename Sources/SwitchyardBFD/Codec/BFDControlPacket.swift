/// A BFD Control packet (RFC 5880 §4.1) without authentication, which we neither send nor accept.
/// Intervals are in microseconds, as on the wire.
public struct BFDControlPacket: Hashable, Sendable {
    public var diagnostic: BFDDiagnostic
    public var state: BFDState
    /// P: the sender asks for a packet with F set back (a Poll Sequence, §6.5).
    public var poll: Bool
    /// F: the answer to a Poll.
    public var final: Bool
    /// C: the sender's BFD does not share fate with its control plane.
    public var controlPlaneIndependent: Bool
    /// D: the sender wishes to run in Demand mode; we never ask for it and keep sending
    /// periodically, which RFC 5880 §6.6 allows.
    public var demand: Bool
    public var detectMultiplier: UInt8
    public var myDiscriminator: UInt32
    public var yourDiscriminator: UInt32
    public var desiredMinTxInterval: UInt32
    public var requiredMinRxInterval: UInt32
    /// Zero: we do not run the Echo function, and say so (§6.8.3).
    public var requiredMinEchoRxInterval: UInt32

    public init(
        diagnostic: BFDDiagnostic = .none, state: BFDState, poll: Bool = false, final: Bool = false,
        controlPlaneIndependent: Bool = false, demand: Bool = false, detectMultiplier: UInt8,
        myDiscriminator: UInt32, yourDiscriminator: UInt32, desiredMinTxInterval: UInt32,
        requiredMinRxInterval: UInt32, requiredMinEchoRxInterval: UInt32 = 0
    ) {
        self.diagnostic = diagnostic
        self.state = state
        self.poll = poll
        self.final = final
        self.controlPlaneIndependent = controlPlaneIndependent
        self.demand = demand
        self.detectMultiplier = detectMultiplier
        self.myDiscriminator = myDiscriminator
        self.yourDiscriminator = yourDiscriminator
        self.desiredMinTxInterval = desiredMinTxInterval
        self.requiredMinRxInterval = requiredMinRxInterval
        self.requiredMinEchoRxInterval = requiredMinEchoRxInterval
    }
}

/// Why a received packet was discarded. Each is counted per session (or per receiver when no
/// session could be chosen); none is an error anybody must act on: the peer's packets are simply
/// not believed, and a session that hears nothing else goes Down by its detection timer.
public enum BFDDiscardReason: String, Error, Hashable, Sendable, CaseIterable {
    /// Fewer bytes than the 24-octet mandatory section.
    case truncated
    /// RFC 5880 §6.8.6: Version is not 1.
    case badVersion
    /// Length below 24 (26 with A), or beyond the UDP payload.
    case badLength
    /// Detect Mult is zero.
    case zeroDetectMultiplier
    /// The M bit is set (reserved for multipoint, RFC 8562).
    case multipoint
    /// My Discriminator is zero.
    case zeroMyDiscriminator
    /// Your Discriminator is zero while State is Init or Up.
    case zeroYourDiscriminatorNotDown
    /// The A bit is set: we run no authentication, so such a packet is discarded (§6.8.6).
    case authenticationPresent
    /// RFC 5881 §5: TTL / hop limit below 255 (or not reported by the kernel).
    case ttlBelow255
    /// Your Discriminator names no session of ours, or, when zero, no session runs with the
    /// source address.
    case noSession
    /// Received while our session is AdminDown (§6.8.6).
    case localAdminDown
}
