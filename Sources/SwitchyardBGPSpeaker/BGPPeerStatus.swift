import SwitchyardBGP
import SwitchyardCore

/// One peer's session as a value, for the admin API, metrics and logs.
public struct BGPPeerStatus: Hashable, Sendable {
    public var peer: String
    public var peerAddress: IPAddress
    public var state: State
    /// How long the session has been Established; nil when it is not.
    public var uptime: Duration?
    /// The most recent reason the session failed or could not start; kept after recovery, so an
    /// operator can see why the last flap happened.
    public var lastError: BGPPeerError?
    public var lastNotificationSent: BGPNotificationRecord?
    public var lastNotificationReceived: BGPNotificationRecord?
    /// Prefixes the peer has been told about in this session.
    public var prefixesAnnounced: Int
    /// UPDATE messages since the speaker started (every session), End-of-RIB markers included.
    public var updatesSent: Int
    public var updatesReceived: Int
    /// What the OPEN exchange agreed, while the session is OpenConfirm or Established.
    public var negotiated: BGPNegotiatedSession?

    /// RFC 4271 §8.2.2 states.
    public enum State: String, Hashable, Sendable {
        case idle, connect, active, openSent, openConfirm, established
    }
}

/// Why the session last failed.
public enum BGPPeerError: Hashable, Sendable, CustomStringConvertible {
    /// The TCP connection could not be opened.
    case connectFailed(BGPSocketError)
    /// An open session ended (NOTIFICATION either way, or the connection dropped).
    case sessionDown(BGPSessionDownReason)

    public var description: String {
        switch self {
        case .connectFailed(let error): "connect failed: \(error)"
        case .sessionDown(.sentNotification(let notification)): "we sent \(notification)"
        case .sessionDown(.receivedNotification(let notification)): "peer sent \(notification)"
        case .sessionDown(.stopped(let notification)): "stopped with \(notification)"
        case .sessionDown(.connectionLost): "connection lost"
        }
    }
}

/// A NOTIFICATION as an operator reads it: code, subcode and the RFC 9003 shutdown text if any.
public struct BGPNotificationRecord: Hashable, Sendable, CustomStringConvertible {
    public var code: UInt8
    public var subcode: UInt8
    public var text: String?

    public init(_ notification: BGPNotification) {
        code = notification.code
        subcode = notification.subcode
        text = notification.shutdownCommunication
    }

    public var description: String {
        "\(code)/\(subcode)" + (text.map { " \"\($0)\"" } ?? "")
    }
}

extension BGPPeerStatus.State {
    init(_ state: BGPSessionStateMachine.State) {
        switch state {
        case .idle: self = .idle
        case .connect: self = .connect
        case .active: self = .active
        case .openSent: self = .openSent
        case .openConfirm: self = .openConfirm
        case .established: self = .established
        }
    }
}
