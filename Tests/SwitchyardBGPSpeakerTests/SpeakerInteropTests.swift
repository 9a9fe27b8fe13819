import Foundation
import Logging
import SwitchyardBGP
import SwitchyardBGPSpeaker
import SwitchyardCore
import Testing

/// Two in-process speakers (their sockets opened inside their own namespaces) peering with a real
/// router over IPv4 and IPv6 sessions; the router's kernel table is the judge.
@Suite(.serialized) struct SpeakerInteropTests {
    static let vip4 = "198.51.100.10/32"
    static let vip6 = "2001:db8:100::10/128"
    static let password = "sw1tchyard-md5"

    /// Speaker `index` of the lab: one IPv4 and one IPv6 session to the router, sourced from the
    /// speaker's own addresses; `password` signs both with TCP-MD5.
    static func makeSpeaker(_ lab: InteropLab, _ index: Int, routerASN: UInt32, password: String?) throws
        -> BGPSpeaker
    {
        let endpoint = lab.speakers[index]
        let routerID = IPv4Address(10, 77, UInt8(index + 1), 2)
        let sessions: [(IPAddress, IPAddress, BGPAddressFamily)] = [
            (endpoint.routerAddress4, endpoint.address4, .ipv4Unicast),
            (endpoint.routerAddress6, endpoint.address6, .ipv6Unicast),
        ]
        let peers = try sessions.map { peer, source, family in
            BGPPeerConfiguration(
                transport: BGPPeerTransport(
                    peerAddress: peer, sourceAddress: source, md5Password: password,
                    networkNamespacePath: endpoint.namespacePath, connectTimeout: .seconds(2)),
                session: try BGPSessionConfiguration(
                    localASN: endpoint.asn, routerID: routerID, peerASN: routerASN, holdTime: 9,
                    families: [family], connectRetry: .milliseconds(500), maxConnectRetry: .seconds(2)))
        }
        var logger = Logger(label: "speaker\(index + 1)")
        logger.logLevel = .notice
        return BGPSpeaker(peers: peers, logger: logger)
    }

    /// The VIPs as speaker `index` announces them: next hop its own address of each family.
    static func routes(_ lab: InteropLab, _ index: Int, gracefulShutdown: Bool = false)
        -> [IPPrefix: BGPRouteAttributes]
    {
        let endpoint = lab.speakers[index]
        guard case .v4(let v4) = endpoint.address4, case .v6(let v6) = endpoint.address6,
            let prefix4 = IPPrefix(vip4), let prefix6 = IPPrefix(vip6)
        else { return [:] }
        let attributes4 = BGPRouteAttributes(nextHop: .v4(v4))
        let attributes6 = BGPRouteAttributes(nextHop: .v6(global: v6, linkLocal: nil))
        return [
            prefix4: gracefulShutdown ? attributes4.gracefullyShuttingDown : attributes4,
            prefix6: gracefulShutdown ? attributes6.gracefullyShuttingDown : attributes6,
        ]
    }

    static func allEstablished(_ speakers: [BGPSpeaker]) async -> Bool {
        for speaker in speakers where await speaker.status().contains(where: { $0.state != .established }) {
            return false
        }
        return true
    }

    static func expectNextHops(
        _ lab: InteropLab, _ expected4: Set<String>, _ expected6: Set<String>, _ what: Comment,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let reached = try await InteropEnvironment.eventually(within: .seconds(10)) {
            try lab.kernelNextHops(vip4) == expected4 && lab.kernelNextHops(vip6) == expected6
        }
        let actual4 = try lab.kernelNextHops(vip4)
        let actual6 = try lab.kernelNextHops(vip6)
        #expect(
            reached, "\(what): kernel has \(actual4) and \(actual6), wanted \(expected4) and \(expected6)",
            sourceLocation: sourceLocation)
    }

    static let birdMissing = InteropEnvironment.missing(InteropEnvironment.birdBinaries)
    static let frrMissing = InteropEnvironment.missing(InteropEnvironment.frrBinaries)

    @Test(.enabled(if: birdMissing == nil, Comment(rawValue: birdMissing ?? "")), .timeLimit(.minutes(1)))
    func bird() async throws {
        try await withLab { lab, passwords in try BIRDRouter(lab: lab, passwords: passwords) }
    }

    @Test(.enabled(if: frrMissing == nil, Comment(rawValue: frrMissing ?? "")), .timeLimit(.minutes(1)))
    func frr() async throws {
        try await withLab { lab, passwords in try FRRRouter(lab: lab, passwords: passwords) }
    }

    /// Builds the lab and the router, runs the scenario, and tears everything down whatever happened.
    /// Speaker 1 signs its sessions with TCP-MD5 and speaker 2 does not; the router is configured
    /// the same way, so a session whose signing does not match never comes up.
    private func withLab(_ makeRouter: (InteropLab, [String?]) throws -> some InteropRouter) async throws {
        let lab = try InteropLab()
        var router: (any InteropRouter)?
        var speakers: [BGPSpeaker] = []
        do {
            router = try makeRouter(lab, [Self.password, nil])
            speakers = [
                try Self.makeSpeaker(lab, 0, routerASN: InteropLab.routerASN, password: Self.password),
                try Self.makeSpeaker(lab, 1, routerASN: InteropLab.routerASN, password: nil),
            ]
            if let router { try await scenario(lab: lab, router: router, speakers: speakers) }
        } catch {
            Issue.record(error)
        }
        for speaker in speakers { await speaker.stop(reason: "interop test teardown") }
        router?.stop()
        lab.tearDown()
    }

    /// Sessions up; ECMP over both speakers for an IPv4 /32 and an IPv6 /128; ROUTE-REFRESH
    /// answered; withdraw and re-announce; GRACEFUL_SHUTDOWN drain (out of ECMP, kept as backup),
    /// then withdraw; a graceful stop the router sees as Administrative Shutdown.
    private func scenario(lab: InteropLab, router: some InteropRouter, speakers: [BGPSpeaker]) async throws {
        guard speakers.count == 2 else { return }
        let hop4 = Set(lab.speakers.map { "\($0.address4)" })
        let hop6 = Set(lab.speakers.map { "\($0.address6)" })
        for (index, speaker) in speakers.enumerated() {
            speaker.setRoutes(Self.routes(lab, index))
            speaker.start()
        }
        let established = await InteropEnvironment.eventually(within: .seconds(15)) {
            await Self.allEstablished(speakers)
        }
        let sessions = [await speakers[0].status(), await speakers[1].status()]
        #expect(established, "sessions: \(sessions)")
        guard established else { return }
        #expect(sessions.joined().allSatisfy { $0.prefixesAnnounced == 1 }, "one VIP per family and session")

        try await Self.expectNextHops(lab, hop4, hop6, "both speakers announce: ECMP over both")

        // A ROUTE-REFRESH from the router is answered by sending the table again.
        let sentBefore = await speakers[1].status()[0].updatesSent
        try router.requestRefresh(fromSpeaker: 1)
        let resent = await InteropEnvironment.eventually(within: .seconds(5)) {
            await speakers[1].status()[0].updatesSent > sentBefore
        }
        #expect(resent, "ROUTE-REFRESH answered")

        speakers[0].setRoutes([:])
        try await Self.expectNextHops(
            lab, ["\(lab.speakers[1].address4)"], ["\(lab.speakers[1].address6)"], "speaker 1 withdrew")
        speakers[0].setRoutes(Self.routes(lab, 0))
        try await Self.expectNextHops(lab, hop4, hop6, "speaker 1 announces again")

        // Drain: GRACEFUL_SHUTDOWN takes speaker 1 out of the ECMP set but BIRD keeps its path as a
        // backup; the withdraw then removes that path too.
        speakers[0].setRoutes(Self.routes(lab, 0, gracefulShutdown: true))
        try await Self.expectNextHops(
            lab, ["\(lab.speakers[1].address4)"], ["\(lab.speakers[1].address6)"], "speaker 1 drains")
        #expect(try router.pathCount(Self.vip4) == 2, "the drained path stays as a backup")
        #expect(try router.pathCount(Self.vip6) == 2, "the drained path stays as a backup")
        speakers[0].setRoutes([:])
        let gone = try await InteropEnvironment.eventually(within: .seconds(5)) {
            try router.pathCount(Self.vip4) == 1 && router.pathCount(Self.vip6) == 1
        }
        #expect(gone, "after the withdraw only speaker 2's path is left")
        try await Self.expectNextHops(
            lab, ["\(lab.speakers[1].address4)"], ["\(lab.speakers[1].address6)"], "speaker 1 withdrew after drain")

        // A graceful stop tells the router why (Cease / Administrative Shutdown with the text).
        await speakers[0].stop(reason: "maintenance window")
        let status = await speakers[0].status()
        #expect(status.allSatisfy { $0.lastNotificationSent?.code == 6 && $0.lastNotificationSent?.subcode == 2 })
        #expect(status.allSatisfy { $0.lastNotificationSent?.text == "maintenance window" })
        let told = try await InteropEnvironment.eventually(within: .seconds(5)) {
            try router.sawAdministrativeShutdown(fromSpeaker: 0)
        }
        #expect(told, "the router saw the Cease")
    }
}
