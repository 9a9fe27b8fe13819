/// RFC 5880 §4.1 "Sta": the session states as they travel on the wire (two bits, all four used).
public enum BFDState: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case adminDown = 0
    case down = 1
    case `init` = 2
    case up = 3

    public var description: String {
        switch self {
        case .adminDown: "AdminDown"
        case .down: "Down"
        case .`init`: "Init"
        case .up: "Up"
        }
    }
}

/// RFC 5880 §4.1 "Diag": why the sender's session last changed state. Five bits; values without
/// a name here are reserved but still carried, so a peer's future code is reported, not rejected.
public struct BFDDiagnostic: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue & 0x1f
    }

    public static let none = BFDDiagnostic(rawValue: 0)
    /// Our detection timer ran out: no packet from the peer for a Detection Time (§6.8.4).
    public static let controlDetectionTimeExpired = BFDDiagnostic(rawValue: 1)
    public static let echoFunctionFailed = BFDDiagnostic(rawValue: 2)
    /// The peer said its session is Down (or AdminDown) while ours was Up or Init (§6.8.6).
    public static let neighborSignaledSessionDown = BFDDiagnostic(rawValue: 3)
    public static let forwardingPlaneReset = BFDDiagnostic(rawValue: 4)
    public static let pathDown = BFDDiagnostic(rawValue: 5)
    public static let concatenatedPathDown = BFDDiagnostic(rawValue: 6)
    /// We took the session down ourselves (§6.8.16).
    public static let administrativelyDown = BFDDiagnostic(rawValue: 7)
    public static let reverseConcatenatedPathDown = BFDDiagnostic(rawValue: 8)

    public var description: String {
        switch rawValue {
        case 0: "no diagnostic"
        case 1: "control detection time expired"
        case 2: "echo function failed"
        case 3: "neighbor signaled session down"
        case 4: "forwarding plane reset"
        case 5: "path down"
        case 6: "concatenated path down"
        case 7: "administratively down"
        case 8: "reverse concatenated path down"
        default: "reserved diagnostic \(rawValue)"
        }
    }
}
