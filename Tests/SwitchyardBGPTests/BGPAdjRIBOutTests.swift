import NIOCore
import SwitchyardCore
import Testing

@testable import SwitchyardBGP

/// The declarative route diff: desired routes in, the UPDATEs that get the peer there out.
@Suite struct BGPAdjRIBOutTests {
    static let negotiated = BGPNegotiatedSession(
        peerASN: 65002, peerRouterID: T.v4("10.0.0.2"), holdTime: 90, families: [.ipv4Unicast, .ipv6Unicast],
        peerSupportsRouteRefresh: true, codecContext: T.external)
    static let v4Hop = BGPRouteAttributes(
        nextHop: .v4(T.v4("192.0.2.10")),
        communities: [BGPCommunity(asn: 65001, value: 1)],
        largeCommunities: [BGPLargeCommunity(65001, 2, 3)])
    static let v6Hop = BGPRouteAttributes(nextHop: .v6(global: T.v6("2001:db8::10"), linkLocal: nil))

    static func established(
        _ routes: [IPPrefix: BGPRouteAttributes] = [:],
        negotiated: BGPNegotiatedSession = negotiated
    ) -> (BGPAdjRIBOut, [BGPUpdate]) {
        var rib = BGPAdjRIBOut()
        _ = rib.set(routes)
        let updates = rib.sessionEstablished(localASN: 65001, negotiated: negotiated)
        return (rib, updates)
    }

    /// Withdrawn (v4 field and MP_UNREACH) and announced (NLRI field and MP_REACH) prefixes.
    static func flatten(_ updates: [BGPUpdate]) -> (withdrawn: Set<IPPrefix>, announced: Set<IPPrefix>) {
        var withdrawn = Set<IPPrefix>()
        var announced = Set<IPPrefix>()
        for update in updates {
            withdrawn.formUnion(update.withdrawn + (update.attributes.multiprotocolUnreach?.withdrawn ?? []))
            announced.formUnion(update.announced + (update.attributes.multiprotocolReach?.announced ?? []))
        }
        return (withdrawn, announced)
    }

    @Test func nothingIsSentWithoutASession() {
        var rib = BGPAdjRIBOut()
        #expect(rib.set([T.prefix("198.51.100.1/32"): Self.v4Hop]) == [])
        #expect(rib.announced.isEmpty && rib.desired.count == 1)
    }

    /// The initial dump, then End-of-RIB for each negotiated family (RFC 4724).
    @Test func initialDumpEndsWithEndOfRIB() throws {
        let (rib, updates) = Self.established([
            T.prefix("198.51.100.1/32"): Self.v4Hop,
            T.prefix("2001:db8:1::1/128"): Self.v6Hop,
        ])
        #expect(updates.count == 4)
        #expect(updates.suffix(2).map(\.endOfRIB) == [.ipv4Unicast, .ipv6Unicast])
        let v4 = try #require(updates.first { !$0.announced.isEmpty })
        #expect(v4.attributes.nextHop == T.v4("192.0.2.10"))
        #expect(v4.attributes.asPath == [BGPASPathSegment(.sequence, [65001])])
        #expect(v4.attributes.localPreference == nil, "never to an external peer")
        #expect(v4.attributes.communities == [BGPCommunity(asn: 65001, value: 1)])
        #expect(v4.attributes.largeCommunities == [BGPLargeCommunity(65001, 2, 3)])
        let v6 = try #require(updates.first { $0.attributes.multiprotocolReach != nil })
        #expect(v6.attributes.multiprotocolReach?.announced == [T.prefix("2001:db8:1::1/128")])
        #expect(v6.attributes.nextHop == nil)
        #expect(rib.announced.count == 2)
    }

    @Test func internalPeerGetsLocalPreferenceAndAnEmptyPath() throws {
        var negotiated = Self.negotiated
        negotiated.codecContext = T.internalPeer
        var attributes = Self.v4Hop
        attributes.localPreference = 200
        let (_, updates) = Self.established([T.prefix("198.51.100.1/32"): attributes], negotiated: negotiated)
        #expect(updates.first?.attributes.localPreference == 200)
        #expect(updates.first?.attributes.asPath == [])
    }

    /// Routes with identical attributes share an UPDATE; different attributes do not.
    @Test func announcementsAreGroupedByAttributes() {
        let drained = Self.v4Hop.gracefullyShuttingDown
        let routes: [IPPrefix: BGPRouteAttributes] = [
            T.prefix("198.51.100.1/32"): Self.v4Hop, T.prefix("198.51.100.2/32"): Self.v4Hop,
            T.prefix("198.51.100.3/32"): drained, T.prefix("198.51.100.4/32"): Self.v4Hop,
        ]
        let (_, updates) = Self.established(routes)
        let announcing = updates.filter { !$0.announced.isEmpty }
        #expect(announcing.count == 2)
        #expect(announcing[0].announced.count == 3)
        #expect(announcing[1].announced == [T.prefix("198.51.100.3/32")])
        #expect(announcing[1].attributes.communities.contains(.gracefulShutdown))
    }

    @Test func diffSendsOnlyChanges() {
        var (rib, _) = Self.established([
            T.prefix("198.51.100.1/32"): Self.v4Hop,
            T.prefix("198.51.100.2/32"): Self.v4Hop,
        ])
        #expect(rib.set(rib.desired) == [], "no change, no UPDATE")
        let changed = rib.set([T.prefix("198.51.100.1/32"): Self.v4Hop.gracefullyShuttingDown])
        #expect(changed.count == 2)
        #expect(changed[0] == BGPUpdate(withdrawn: [T.prefix("198.51.100.2/32")]), "withdrawals first")
        #expect(changed[1].announced == [T.prefix("198.51.100.1/32")], "a changed route is re-announced")
    }

    @Test func withdrawThenReannounce() {
        let prefix = T.prefix("2001:db8:1::1/128")
        var (rib, _) = Self.established([prefix: Self.v6Hop])
        let withdraw = rib.set([:])
        #expect(
            withdraw == [
                BGPUpdate(
                    attributes: BGPPathAttributes(
                        multiprotocolUnreach: BGPMultiprotocolUnreach(family: .ipv6Unicast, withdrawn: [prefix])))
            ])
        let again = rib.set([prefix: Self.v6Hop])
        #expect(Self.flatten(again).announced == [prefix] && Self.flatten(again).withdrawn.isEmpty)
    }

    /// Thousands of routes pack into messages that all fit 4096 octets and are each full: one
    /// more prefix would not have fit.
    @Test(arguments: [BGPAddressFamily.ipv4Unicast, .ipv6Unicast])
    func packingFillsButNeverExceedsTheLimit(_ family: BGPAddressFamily) throws {
        let prefixes: [IPPrefix] = (0..<3000).map { index in
            family == .ipv4Unicast
                ? IPPrefix(address: .v4(IPv4Address(0x0a00_0000 + UInt32(index))), length: 32)!
                : IPPrefix(address: .v6(IPv6Address(high: 0x2001_0db8_0000_0000, low: UInt64(index))), length: 128)!
        }
        let attributes = family == .ipv4Unicast ? Self.v4Hop : Self.v6Hop
        var (rib, updates) = Self.established(Dictionary(uniqueKeysWithValues: prefixes.map { ($0, attributes) }))
        let perPrefix = family == .ipv4Unicast ? 5 : 17
        for batch in [updates.dropLast(2), ArraySlice(rib.set([:]))] {
            let lengths = batch.map { BGPMessage.update($0).encodedLength(context: T.external) }
            #expect(lengths.allSatisfy { $0 <= BGPWire.maxMessageLength })
            #expect(lengths.dropLast().allSatisfy { $0 + perPrefix > BGPWire.maxMessageLength }, "\(lengths)")
            #expect(batch.count > 1)
        }
        #expect(Self.flatten(Array(updates)).announced == Set(prefixes))
        // Round trip through the codec: what we pack, we can read.
        for update in updates {
            var buffer = T.encode(.update(update))
            #expect(try BGPMessage.read(from: &buffer, context: T.external) == .update(update))
        }
    }

    @Test func routeRefreshResendsEverythingOfThatFamily() {
        let (rib, _) = Self.established([
            T.prefix("198.51.100.1/32"): Self.v4Hop,
            T.prefix("2001:db8:1::1/128"): Self.v6Hop,
        ])
        #expect(Self.flatten(rib.refresh(.ipv6Unicast)).announced == [T.prefix("2001:db8:1::1/128")])
        #expect(Self.flatten(rib.refresh(.ipv4Unicast)).announced == [T.prefix("198.51.100.1/32")])
    }

    @Test func familiesNotNegotiatedAndMismatchedNextHopsAreNotSent() {
        var negotiated = Self.negotiated
        negotiated.families = [.ipv4Unicast]
        let (rib, updates) = Self.established(
            [
                T.prefix("2001:db8:1::1/128"): Self.v6Hop,
                T.prefix("198.51.100.9/32"): Self.v6Hop,
            ], negotiated: negotiated)
        #expect(updates == [BGPUpdate.endOfRIB(.ipv4Unicast)])
        #expect(rib.announced.isEmpty)
    }

    @Test func sessionDownForgetsWhatWasAnnounced() {
        var (rib, _) = Self.established([T.prefix("198.51.100.1/32"): Self.v4Hop])
        rib.sessionDown()
        #expect(rib.announced.isEmpty && rib.desired.count == 1)
        #expect(rib.set([:]) == [])
        let updates = rib.sessionEstablished(localASN: 65001, negotiated: Self.negotiated)
        #expect(updates.count == 2, "only the two End-of-RIBs")
    }
}
