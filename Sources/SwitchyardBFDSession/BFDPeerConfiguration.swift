import SwitchyardCore

/// One single-hop BFD session to run (RFC 5881): from which of our addresses, to which neighbour,
/// how fast, and in which network namespace.
public struct BFDPeerConfiguration: Hashable, Sendable {
    /// Our address on the link to the peer: packets leave from it and are received on it
    /// (UDP 3784). Must be configured on this host (in the namespace, if one is named).
    public var localAddress: IPAddress
    public var peerAddress: IPAddress
    /// Desired Min TX and Required Min RX once Up (issue 12: 300 ms by default).
    public var interval: Duration
    /// Detect Mult: packets the peer may miss before declaring us down.
    public var multiplier: UInt8
    /// A network namespace file (e.g. `/var/run/netns/<name>`) to open the sockets in; nil for
    /// the process's own.
    public var networkNamespacePath: String?

    public init(
        localAddress: IPAddress, peerAddress: IPAddress, interval: Duration = .milliseconds(300),
        multiplier: UInt8 = 3, networkNamespacePath: String? = nil
    ) {
        self.localAddress = localAddress
        self.peerAddress = peerAddress
        self.interval = interval
        self.multiplier = multiplier
        self.networkNamespacePath = networkNamespacePath
    }

    /// Milliseconds, as the config file says it.
    public init(
        localAddress: IPAddress, peerAddress: IPAddress, intervalMs: Int, multiplier: UInt8,
        networkNamespacePath: String? = nil
    ) {
        self.init(
            localAddress: localAddress, peerAddress: peerAddress, interval: .milliseconds(intervalMs),
            multiplier: multiplier, networkNamespacePath: networkNamespacePath)
    }

    /// How logs and status name the session.
    public var name: String { "\(localAddress)->\(peerAddress)" }
}
