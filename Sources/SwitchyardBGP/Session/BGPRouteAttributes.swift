import SwitchyardCore

/// What we announce for one prefix: the parts of the path attributes the agent decides. The AS
/// path and which attributes an external peer may see are the speaker's business
/// (`BGPAdjRIBOut` adds our ASN for eBGP and keeps LOCAL_PREF to iBGP, RFC 4271 §5.1.2, §5.1.5).
public struct BGPRouteAttributes: Hashable, Sendable {
    /// IPv4 next hop for IPv4 prefixes, IPv6 (global, optional link-local) for IPv6 prefixes.
    public var nextHop: BGPNextHop
    public var origin: BGPOrigin
    public var localPreference: UInt32?
    public var multiExitDiscriminator: UInt32?
    /// Kept sorted and free of repeats, so equal sets compare equal and share an UPDATE.
    public var communities: [BGPCommunity]
    public var largeCommunities: [BGPLargeCommunity]

    public init(
        nextHop: BGPNextHop, origin: BGPOrigin = .igp, localPreference: UInt32? = nil,
        multiExitDiscriminator: UInt32? = nil, communities: [BGPCommunity] = [],
        largeCommunities: [BGPLargeCommunity] = []
    ) {
        self.nextHop = nextHop
        self.origin = origin
        self.localPreference = localPreference
        self.multiExitDiscriminator = multiExitDiscriminator
        self.communities = Array(Set(communities)).sorted()
        self.largeCommunities = Array(Set(largeCommunities)).sorted()
    }

    /// The same route marked GRACEFUL_SHUTDOWN (RFC 8326 §4), for draining before a withdraw.
    public var gracefullyShuttingDown: BGPRouteAttributes {
        var copy = self
        copy.communities = Array(Set(communities + [.gracefulShutdown])).sorted()
        return copy
    }

    /// Whether these attributes can carry `prefix`: the next hop must be of the prefix's family.
    func fits(_ prefix: IPPrefix) -> Bool {
        switch (nextHop, prefix.address) {
        case (.v4, .v4), (.v6, .v6): true
        default: false
        }
    }
}

extension IPPrefix {
    /// The unicast family the prefix belongs to.
    var bgpFamily: BGPAddressFamily { address.family == .v4 ? .ipv4Unicast : .ipv6Unicast }

    /// A stable order for output: by address, then length.
    static func bgpOrder(_ lhs: IPPrefix, _ rhs: IPPrefix) -> Bool {
        (lhs.address, lhs.length) < (rhs.address, rhs.length)
    }
}
