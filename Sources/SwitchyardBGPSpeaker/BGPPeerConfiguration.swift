import SwitchyardBGP
import SwitchyardCore

/// How the speaker reaches one peer. The speaker is active-only (it connects out and never
/// listens, see `BGPSessionStateMachine`): the router must accept the session passively, e.g.
/// BIRD's `neighbor range … dynamic` or FRR's `bgp listen range`, or explicit neighbours.
public struct BGPPeerTransport: Hashable, Sendable {
    public var peerAddress: IPAddress
    /// RFC 4271 §8.2.1: BGP listens on TCP 179.
    public var peerPort: UInt16
    /// The local address to connect from; nil lets the kernel pick by route. Routers with
    /// explicit neighbours expect a fixed one.
    public var sourceAddress: IPAddress?
    /// The local port; 0 lets the kernel pick.
    public var sourcePort: UInt16
    /// RFC 2385 TCP-MD5 key, shared with the router; nil for none. At most 80 octets (Linux).
    public var md5Password: String?
    /// A network namespace file (e.g. `/var/run/netns/<name>`) to open the socket in; nil for the
    /// process's own. For a node that peers from a dedicated namespace, and for the interop tests.
    public var networkNamespacePath: String?
    /// How long one connect may take before it counts as failed.
    public var connectTimeout: Duration

    public init(
        peerAddress: IPAddress, peerPort: UInt16 = 179, sourceAddress: IPAddress? = nil, sourcePort: UInt16 = 0,
        md5Password: String? = nil, networkNamespacePath: String? = nil, connectTimeout: Duration = .seconds(5)
    ) {
        self.peerAddress = peerAddress
        self.peerPort = peerPort
        self.sourceAddress = sourceAddress
        self.sourcePort = sourcePort
        self.md5Password = md5Password
        self.networkNamespacePath = networkNamespacePath
        self.connectTimeout = connectTimeout
    }
}

/// One configured peer: where it is and what the session offers.
public struct BGPPeerConfiguration: Hashable, Sendable {
    public var transport: BGPPeerTransport
    public var session: BGPSessionConfiguration

    public init(transport: BGPPeerTransport, session: BGPSessionConfiguration) {
        self.transport = transport
        self.session = session
    }

    /// How logs and status name the peer: address, and port when it is not 179.
    public var name: String {
        let address = transport.peerAddress.family == .v6 ? "[\(transport.peerAddress)]" : "\(transport.peerAddress)"
        return transport.peerPort == 179 ? "\(transport.peerAddress)" : "\(address):\(transport.peerPort)"
    }
}
