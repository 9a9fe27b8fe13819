import SwitchyardCore

/// The routes we announce to one peer, kept declaratively: the agent says which routes *should*
/// be announced (`set`), and this works out the UPDATEs that move the peer from what it was told
/// to that (RFC 4271 §3.2 Adj-RIB-Out). Pure: the handler sends what comes back while the session
/// is Established.
public struct BGPAdjRIBOut: Sendable {
    /// What the peer was told; empty while no session is up.
    public private(set) var announced: [IPPrefix: BGPRouteAttributes] = [:]
    /// What should be announced, whether or not a session is up.
    public private(set) var desired: [IPPrefix: BGPRouteAttributes] = [:]
    private var session: Session?

    struct Session: Sendable {
        var localASN: UInt32
        var negotiated: BGPNegotiatedSession
    }

    public init() {}

    /// New desired routes: withdrawals, then announcements grouped by identical attributes. A
    /// prefix whose attributes changed is simply announced again (an implicit withdraw,
    /// RFC 4271 §3.1). Nothing is returned while no session is up.
    public mutating func set(_ routes: [IPPrefix: BGPRouteAttributes]) -> [BGPUpdate] {
        desired = routes
        return synchronise()
    }

    /// The initial dump after Established, then End-of-RIB for every negotiated family
    /// (RFC 4724 §2), so the peer knows it has everything.
    public mutating func sessionEstablished(localASN: UInt32, negotiated: BGPNegotiatedSession) -> [BGPUpdate] {
        session = Session(localASN: localASN, negotiated: negotiated)
        announced = [:]
        let families = [BGPAddressFamily.ipv4Unicast, .ipv6Unicast].filter(negotiated.families.contains)
        return synchronise() + families.map(BGPUpdate.endOfRIB)
    }

    /// The peer forgets everything we announced when the session ends (RFC 4271 §8.2.2).
    public mutating func sessionDown() {
        session = nil
        announced = [:]
    }

    /// A ROUTE-REFRESH (RFC 2918 §4): everything of that family, again.
    public func refresh(_ family: BGPAddressFamily) -> [BGPUpdate] {
        guard let session, session.negotiated.families.contains(family) else { return [] }
        return Self.announce(announced.filter { $0.key.bgpFamily == family }, session: session)
    }

    private mutating func synchronise() -> [BGPUpdate] {
        guard let session else { return [] }
        let eligible = desired.filter { prefix, attributes in
            attributes.fits(prefix) && session.negotiated.families.contains(prefix.bgpFamily)
        }
        let gone = announced.keys.filter { eligible[$0] == nil }.sorted(by: IPPrefix.bgpOrder)
        let changed = eligible.filter { announced[$0.key] != $0.value }
        announced = eligible
        var updates: [BGPUpdate] = []
        for family in [BGPAddressFamily.ipv4Unicast, .ipv6Unicast] {
            updates += BGPUpdatePacker.withdrawals(gone.filter { $0.bgpFamily == family }, family: family)
        }
        return updates + Self.announce(changed, session: session)
    }

    /// Groups routes by (family, attributes) and packs each group; groups go out in the order of
    /// their first prefix so the output is deterministic.
    private static func announce(_ routes: [IPPrefix: BGPRouteAttributes], session: Session) -> [BGPUpdate] {
        struct GroupKey: Hashable {
            var family: BGPAddressFamily
            var attributes: BGPRouteAttributes
        }
        var groups: [GroupKey: [IPPrefix]] = [:]
        for (prefix, attributes) in routes {
            groups[GroupKey(family: prefix.bgpFamily, attributes: attributes), default: []].append(prefix)
        }
        let ordered = groups.mapValues { $0.sorted(by: IPPrefix.bgpOrder) }
            .sorted { lhs, rhs in
                guard let left = lhs.value.first, let right = rhs.value.first else { return false }
                return IPPrefix.bgpOrder(left, right)
            }
        return ordered.flatMap { key, prefixes in
            BGPUpdatePacker.announcements(
                prefixes, attributes: pathAttributes(key.attributes, session: session),
                nextHop: key.attributes.nextHop, family: key.family,
                context: session.negotiated.codecContext)
        }
    }

    /// RFC 4271 §5.1.2: to an external peer the AS_PATH is our ASN; to an internal one it is empty
    /// and carries LOCAL_PREF (§5.1.5), which an external peer must never see.
    static func pathAttributes(_ route: BGPRouteAttributes, session: Session) -> BGPPathAttributes {
        let external = session.negotiated.codecContext.peerIsExternal
        return BGPPathAttributes(
            origin: route.origin,
            asPath: external ? [BGPASPathSegment(.sequence, [session.localASN])] : [],
            multiExitDiscriminator: route.multiExitDiscriminator,
            localPreference: external ? nil : (route.localPreference ?? 100),
            communities: route.communities, largeCommunities: route.largeCommunities)
    }
}
