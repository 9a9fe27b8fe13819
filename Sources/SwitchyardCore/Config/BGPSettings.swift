/// How this LB node speaks BGP (`node.bgp`): it announces each VIP it can serve as a host route
/// to every peer, and withdraws it when it cannot (DESIGN "BGP").
public struct BGPSettings: Sendable, Hashable {
    /// This node's autonomous system.
    public var asn: UInt32
    /// The BGP identifier (RFC 4271 §4.2); by default the node's IPv4 tunnel source.
    public var routerID: IPv4Address
    /// Hold time offered to every peer: 0 (no keepalives) or at least 3 s (RFC 4271 §4.2).
    public var holdSeconds: UInt16
    /// How long a draining node announces its VIPs with GRACEFUL_SHUTDOWN (RFC 8326) before it
    /// withdraws them: the time the routers need to move traffic to the other nodes.
    public var drainSeconds: Double
    public var peers: [BGPPeerSettings]

    public static let defaultHoldSeconds: UInt16 = 90
    public static let defaultDrainSeconds = 15.0

    public init(
        asn: UInt32, routerID: IPv4Address, holdSeconds: UInt16 = Self.defaultHoldSeconds,
        drainSeconds: Double = Self.defaultDrainSeconds, peers: [BGPPeerSettings]
    ) {
        self.asn = asn
        self.routerID = routerID
        self.holdSeconds = holdSeconds
        self.drainSeconds = drainSeconds
        self.peers = peers
    }

    /// The next hop this node announces a VIP of `family` with: its tunnel source of that family
    /// (the address the routers reach it at), else the source address of a peer of that family.
    public func nextHop(for family: IPAddress.Family, node: NodeSettings) -> IPAddress? {
        switch family {
        case .v4: if let source = node.ipv4Source { return .v4(source) }
        case .v6: if let source = node.ipv6Source { return .v6(source) }
        }
        return peers.lazy.compactMap(\.sourceAddress).first { $0.family == family }
    }
}

/// An address family a session carries routes of (multiprotocol, RFC 4760): an IPv4 session can
/// carry IPv6 VIPs and the other way round.
public enum RouteFamily: String, Sendable, Hashable, CaseIterable {
    case ipv4
    case ipv6

    public init(_ family: IPAddress.Family) { self = family == .v4 ? .ipv4 : .ipv6 }
}

/// One BGP neighbour (a router this node announces its VIPs to).
public struct BGPPeerSettings: Sendable, Hashable {
    public var address: IPAddress
    public var asn: UInt32
    public var port: UInt16
    /// RFC 2385 TCP-MD5 key shared with the router; nil for none.
    public var password: String?
    /// The local address to connect from; nil lets the kernel choose by route.
    public var sourceAddress: IPAddress?
    /// By default the families of the configured VIPs (the peer's own family when there are none).
    public var families: [RouteFamily]
    /// Nil: no BFD for this peer (the hold timer alone detects a dead path).
    public var bfd: BFDSettings?

    public static let defaultPort: UInt16 = 179

    public init(
        address: IPAddress, asn: UInt32, port: UInt16 = Self.defaultPort, password: String? = nil,
        sourceAddress: IPAddress? = nil, families: [RouteFamily], bfd: BFDSettings? = nil
    ) {
        self.address = address
        self.asn = asn
        self.port = port
        self.password = password
        self.sourceAddress = sourceAddress
        self.families = families
        self.bfd = bfd
    }
}

/// BFD for one peer (RFC 5880/5881 single hop, asynchronous mode): the path is down after
/// `multiplier` intervals without a packet — 300 ms × 3 detects a cut link in under a second.
public struct BFDSettings: Sendable, Hashable {
    public var intervalMs: Int
    public var multiplier: Int

    public static let defaultIntervalMs = 300
    public static let defaultMultiplier = 3

    public init(intervalMs: Int = Self.defaultIntervalMs, multiplier: Int = Self.defaultMultiplier) {
        self.intervalMs = intervalMs
        self.multiplier = multiplier
    }

    /// The address a peer's BFD session runs from: its `sourceAddress`, else the node's tunnel
    /// source of the peer's family. Single-hop BFD (RFC 5881 §4) is bound to one address on the
    /// link to the peer, so unlike BGP it cannot leave the choice to the kernel.
    public static func localAddress(of peer: BGPPeerSettings, node: NodeSettings) -> IPAddress? {
        if let source = peer.sourceAddress { return source }
        switch peer.address.family {
        case .v4: return node.ipv4Source.map { .v4($0) }
        case .v6: return node.ipv6Source.map { .v6($0) }
        }
    }
}
