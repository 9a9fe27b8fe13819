import Foundation
import NIOCore
import SwitchyardCore
import Testing

@testable import SwitchyardBGP

/// Messages captured from BIRD 2.0.12 and FRR 8.4.4 peering with each other
/// (Tests/Fixtures/bgp/README.md says how). What real routers send that naive parsers get wrong.
@Suite struct BGPRealPeerFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/bgp")

    /// At least this many messages: fewer means the corpus lost files.
    static let minimumCorpus = 30

    static func names() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".bin") }.sorted()
    }

    static func bytes(_ name: String) throws -> ByteBuffer {
        ByteBuffer(bytes: try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func message(_ name: String) throws -> BGPMessage? {
        var buffer = try bytes(name)
        return try BGPMessage.read(from: &buffer, context: T.external)
    }

    @Test func corpusIsComplete() throws {
        let names = try Self.names()
        #expect(names.count >= Self.minimumCorpus)
        for speaker in ["bird", "frr"] {
            for type in ["open", "update", "keepalive", "notification"] {
                #expect(names.contains { $0.hasPrefix(speaker) && $0.hasSuffix("-\(type).bin") }, "\(speaker) \(type)")
            }
        }
    }

    /// Each file is exactly one message of the type its name says, with no RFC 7606 handling
    /// needed, and it survives our own write and read.
    @Test(arguments: try names())
    func decodesCleanly(_ name: String) throws {
        var buffer = try Self.bytes(name)
        let message = try #require(try BGPMessage.read(from: &buffer, context: T.external))
        #expect(buffer.readableBytes == 0)
        let typeName = name.split(separator: "-").dropFirst(3).joined(separator: "-")
            .replacingOccurrences(of: ".bin", with: "")
        let expected = [
            "open": BGPMessageType.open, "update": .update, "keepalive": .keepalive,
            "notification": .notification, "route-refresh": .routeRefresh,
        ][typeName]
        #expect(message.type == (try #require(expected, "type in \(name)")))
        if case .update(let update) = message { #expect(update.appliedErrorHandling == []) }
        var again = T.encode(message)
        #expect(try BGPMessage.read(from: &again, context: T.external) == message)
    }

    /// FRR puts each capability in its own optional parameter; BIRD puts all in one.
    @Test func frrOpenHasOneCapabilityPerParameter() throws {
        let raw = Array(try Self.bytes("frr-v4-01-open.bin").readableBytesView)
        var parameters = 0
        var index = 29
        while index + 1 < raw.count {
            parameters += 1
            index += 2 + Int(raw[index + 1])
        }
        #expect(parameters >= 8)
        guard case .open(let open)? = try Self.message("frr-v4-01-open.bin") else {
            Issue.record("no OPEN")
            return
        }
        #expect(open.autonomousSystem == 65002 && open.holdTime == 9 && open.identifier == T.v4("10.213.0.2"))
        #expect(open.families == [.ipv4Unicast] && open.supportsRouteRefresh && open.supportsFourOctetASN)
        #expect(open.capabilities.contains(.enhancedRouteRefresh))
        #expect(open.capabilities.contains { $0.code == BGPCapability.Code.addPath })
        #expect(open.capabilities.contains { $0.code == BGPCapability.Code.gracefulRestart })

        let birdRaw = Array(try Self.bytes("bird-v6-01-open.bin").readableBytesView)
        #expect(birdRaw[28] == birdRaw[30] + 2, "BIRD: a single parameter")
        guard case .open(let bird)? = try Self.message("bird-v6-01-open.bin") else {
            Issue.record("no OPEN")
            return
        }
        #expect(bird.autonomousSystem == 65001 && bird.families == [.ipv6Unicast])
    }

    /// Both OPENs drive our session into OpenConfirm with 4-octet ASNs and the smaller hold time.
    @Test func realOpensAreAccepted() throws {
        for (name, asn) in [("bird-v4-01-open.bin", UInt32(65001)), ("frr-v4-01-open.bin", 65002)] {
            guard case .open(let open)? = try Self.message(name) else {
                Issue.record("no OPEN")
                continue
            }
            var session = BGPSessionStateMachine(
                configuration: try BGPSessionConfiguration(
                    localASN: 65100, routerID: T.v4("10.213.0.9"), peerASN: asn))
            _ = session.start(at: .zero)
            _ = session.tcpConnected(at: .zero)
            _ = session.receivedOpen(open, at: .seconds(1))
            #expect(session.negotiated?.holdTime == 9)
            #expect(session.negotiated?.codecContext.fourOctetASN == true)
            #expect(session.negotiated?.families == [.ipv4Unicast])
        }
    }

    /// FRR sets the extended-length flag on short attributes and sends the 32-octet IPv6 next hop.
    @Test func frrIPv6UpdateHasExtendedLengthAndLinkLocalNextHop() throws {
        let raw = Array(try Self.bytes("frr-v6-04-update.bin").readableBytesView)
        #expect(raw[23] == 0x90 && raw[24] == 14, "MP_REACH_NLRI with the extended-length flag")
        guard case .update(let update)? = try Self.message("frr-v6-04-update.bin") else {
            Issue.record("")
            return
        }
        let reach = try #require(update.attributes.multiprotocolReach)
        guard case .v6(let global, let linkLocal?) = reach.nextHop else {
            Issue.record("no link-local")
            return
        }
        #expect(global == T.v6("fd00:213::2") && linkLocal.high >> 48 == 0xfe80)
        #expect(reach.announced == [T.prefix("2001:db8:2::2/128")])
        #expect(update.attributes.asPath == [BGPASPathSegment(.sequence, [65002])])
        #expect(update.attributes.communities == [BGPCommunity(asn: 65002, value: 200), .gracefulShutdown])
        #expect(update.attributes.largeCommunities == [BGPLargeCommunity(65002, 3, 4)])
    }

    @Test func birdUpdatesCarryCommunitiesAndTheirNextHops() throws {
        guard case .update(let v6)? = try Self.message("bird-v6-03-update.bin") else {
            Issue.record("")
            return
        }
        guard case .v6(let global, let linkLocal)? = v6.attributes.multiprotocolReach?.nextHop else {
            Issue.record("no IPv6 next hop")
            return
        }
        #expect(global == T.v6("fd00:213::1") && linkLocal != nil)
        #expect(v6.attributes.communities == [BGPCommunity(asn: 65001, value: 100), .gracefulShutdown])
        #expect(v6.attributes.largeCommunities == [BGPLargeCommunity(65001, 1, 2)])

        let v4Names = try Self.names().filter { $0.hasPrefix("bird-v4") && $0.hasSuffix("update.bin") }
        let v4 = try v4Names.compactMap { name -> BGPUpdate? in
            if case .update(let update)? = try Self.message(name) { update } else { nil }
        }
        let route = try #require(v4.first { !$0.announced.isEmpty })
        #expect(route.announced == [T.prefix("198.51.100.1/32")])
        #expect(route.attributes.nextHop == T.v4("10.213.0.1"))
        #expect(route.attributes.asPath == [BGPASPathSegment(.sequence, [65001])])
    }

    @Test func endOfRIBFromBothRouters() throws {
        var families: [String: Set<BGPAddressFamily>] = [:]
        for name in try Self.names() where name.hasSuffix("update.bin") {
            if case .update(let update)? = try Self.message(name), let family = update.endOfRIB {
                families[String(name.prefix { $0 != "-" }), default: []].insert(family)
            }
        }
        #expect(families["bird"] == [.ipv4Unicast, .ipv6Unicast])
        #expect(families["frr"] == [.ipv4Unicast, .ipv6Unicast])
    }

    /// RFC 9003 shutdown communications: FRR's `neighbor … shutdown message`, BIRD's `disable "…"`.
    @Test func ceaseWithShutdownText() throws {
        guard case .notification(let frr)? = try Self.message("frr-v4-12-notification.bin"),
            case .notification(let bird)? = try Self.message("bird-v6-09-notification.bin")
        else {
            Issue.record("no NOTIFICATION")
            return
        }
        #expect(frr.code == 6 && frr.subcode == BGPNotification.CeaseSubcode.administrativeShutdown)
        #expect(frr.shutdownCommunication == "switchyard capture: FRR maintenance")
        #expect(bird.shutdownCommunication == "switchyard capture: BIRD goodbye")
    }

    /// Both routers negotiated enhanced route refresh with each other and bracket their refresh
    /// with BoRR/EoRR (RFC 7313); our session ignores those markers.
    @Test func enhancedRouteRefreshMarkersAreIgnored() throws {
        guard case .routeRefresh(let refresh)? = try Self.message("bird-v4-06-route-refresh.bin") else {
            Issue.record("no ROUTE-REFRESH")
            return
        }
        #expect(refresh.family == .ipv4Unicast && refresh.subtype == 1)
    }
}
