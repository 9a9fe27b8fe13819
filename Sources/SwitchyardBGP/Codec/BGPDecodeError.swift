/// What must happen after a peer sent something wrong, in the three strengths RFC 7606 §2 defines.
/// Only `resetSession` is thrown by the decoder; the other two are applied to the UPDATE being
/// decoded and listed in `BGPUpdate.appliedErrorHandling`, so the session carries on.
public enum BGPDecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Framing or OPEN errors, or an UPDATE whose NLRI cannot be located (RFC 7606 §3 j, §5.3):
    /// send this NOTIFICATION, then close the connection.
    case resetSession(notification: BGPNotification)
    /// RFC 7606 §2 "treat-as-withdraw": every route the UPDATE announces is withdrawn instead.
    case treatAsWithdraw(BGPAttributeError)
    /// RFC 7606 §2 "attribute discard": the attribute is dropped, the routes stay.
    case discardAttribute(BGPAttributeError)

    public var description: String {
        switch self {
        case .resetSession(let notification): "reset session with \(notification)"
        case .treatAsWithdraw(let error): "treat as withdraw: \(error)"
        case .discardAttribute(let error): "discard attribute: \(error)"
        }
    }

    static func reset(_ code: UInt8, _ subcode: UInt8, data: [UInt8] = []) -> BGPDecodeError {
        .resetSession(notification: BGPNotification(code: code, subcode: subcode, data: data))
    }
}

/// Which attribute was wrong and how: typed, so a log line or a test can name it without parsing text.
public struct BGPAttributeError: Hashable, Sendable, CustomStringConvertible {
    /// The attribute type code (RFC 4271 §5), or 0 when the attribute list itself was cut short.
    public var attributeType: UInt8
    public var problem: Problem

    public init(attributeType: UInt8, problem: Problem) {
        self.attributeType = attributeType
        self.problem = problem
    }

    public enum Problem: Hashable, Sendable {
        /// The attribute list ended inside an attribute header or value (RFC 7606 §4).
        case attributeListOverrun
        /// Optional/transitive flags contradict the type (RFC 7606 §3 c).
        case conflictingFlags(UInt8)
        /// The length is not the one the attribute's definition allows.
        case badLength(Int)
        /// ORIGIN not IGP, EGP or INCOMPLETE (RFC 7606 §7.1).
        case invalidOrigin(UInt8)
        /// Segment type, count or length does not add up (RFC 7606 §7.2).
        case malformedASPath
        /// NEXT_HOP is 0.0.0.0, multicast or broadcast (RFC 4271 §6.3, RFC 7606 §7.3).
        case invalidNextHop
        /// ORIGIN, AS_PATH or NEXT_HOP absent from an UPDATE with routes (RFC 7606 §3 d).
        case missingWellKnown
        /// The attribute appeared again; all but the first are dropped (RFC 7606 §3 g).
        case duplicate
        /// LOCAL_PREF from an external peer (RFC 7606 §7.5).
        case fromExternalPeer
    }

    public var description: String { "attribute \(attributeType): \(problem)" }
}
