import SwitchyardCore

/// One VIP's host route as this node announces it, in plain values: the control layer knows no
/// BGP codec, and the executor turns this into the speaker's path attributes.
public struct RouteAnnouncement: Hashable, Sendable {
    /// This node's address of the VIP's family: where the routers send the VIP's packets.
    public var nextHop: IPAddress
    /// Sorted and free of repeats; GRACEFUL_SHUTDOWN (65535:0) is among them while draining.
    public var communities: [RouteCommunity]
    public var largeCommunities: [LargeRouteCommunity]

    public init(nextHop: IPAddress, communities: [RouteCommunity] = [], largeCommunities: [LargeRouteCommunity] = []) {
        self.nextHop = nextHop
        self.communities = Array(Set(communities)).sorted()
        self.largeCommunities = Array(Set(largeCommunities)).sorted()
    }

    /// The route marked "about to go away" (RFC 8326): routers prefer other nodes' paths.
    public var isGracefulShutdown: Bool { communities.contains(.gracefulShutdown) }

    /// The host route of `vip`: a /32 or a /128.
    public static func hostRoute(_ vip: IPAddress) -> IPPrefix? {
        IPPrefix(address: vip, length: vip.family == .v4 ? 32 : 128)
    }
}
