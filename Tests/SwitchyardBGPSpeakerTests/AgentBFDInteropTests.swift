import Foundation
import Logging
import SwitchyardBFD
import SwitchyardBFDSession
import SwitchyardBGP
import SwitchyardBGPSpeaker
import SwitchyardControl
import SwitchyardCore
import Testing

@testable import SwitchyardAgent

/// The agent's BFD wiring against BIRD with `bfd on`: `AgentBGP` and `AgentBFD` turn `node.bgp`
/// (both peers with `bfd`) into BGP and BFD sessions exactly as `Agent.startBGP` does, and
/// `AgentBFD.start` hooks each BFD session to the speaker. The `Agent` actor itself needs BPF, so
/// the test stays at this level.
@Suite(.serialized) struct AgentBFDInteropTests {
    static let birdMissing = InteropEnvironment.missing(InteropEnvironment.birdBinaries)

    /// The announcement test's node with BFD (300 ms × 3, the default) on both peers.
    static func config(_ lab: InteropLab) -> SwitchyardConfig? {
        guard var config = AgentAnnouncementInteropTests.config(lab), var bgp = config.node.bgp else { return nil }
        for index in bgp.peers.indices { bgp.peers[index].bfd = BFDSettings() }
        config.node.bgp = bgp
        return config
    }

    /// The running pieces, shaped as the agent builds them, with the lab's namespace and short
    /// retry timers for the test.
    struct Running {
        let speaker: BGPSpeaker
        let service: BFDService
        let sessions: [BFDSession]
    }

    static func start(_ lab: InteropLab, logger: Logger) throws -> Running {
        let config = try #require(Self.config(lab))
        let bgp = try #require(config.node.bgp)
        let namespace = lab.speakers[0].namespacePath
        let peers = AgentBGP.peerConfigurations(bgp, logger: logger).map { peer in
            var peer = peer
            peer.transport.networkNamespacePath = namespace
            peer.transport.connectTimeout = .seconds(2)
            peer.session.connectRetry = .milliseconds(500)
            peer.session.maxConnectRetry = .seconds(2)
            return peer
        }
        let bfdPeers = AgentBFD.peerConfigurations(bgp, node: config.node, logger: logger).map { peer in
            var peer = peer
            peer.networkNamespacePath = namespace
            return peer
        }
        #expect(bfdPeers.map(\.localAddress) == [lab.speakers[0].address4, lab.speakers[0].address6])
        let speaker = BGPSpeaker(peers: peers, logger: logger)
        let service = BFDService(logger: logger)
        let sessions = AgentBFD.start(bfdPeers, on: service, reportingTo: speaker, logger: logger)
        #expect(sessions.count == 2, "both BFD sessions started")
        speaker.start()
        return Running(speaker: speaker, service: service, sessions: sessions)
    }

    /// Both BGP sessions Established and both BFD sessions Up, as the agent's status shows them.
    static func waitUntilUp(_ running: Running) async -> [AgentStatus.BGPPeer] {
        func peers() async -> [AgentStatus.BGPPeer] {
            let sessions = await running.service.status()
            return await running.speaker.status().map { peer in
                let path = sessions.first { $0.peer.peerAddress == peer.peerAddress }
                return AgentBGP.status(peer, asn: InteropLab.routerASN, bfd: path.map(AgentBFD.status))
            }
        }
        _ = await InteropEnvironment.eventually(within: .seconds(15)) {
            let now = await peers()
            return now.count == 2 && now.allSatisfy { $0.isEstablished && $0.bfd?.isUp == true }
        }
        return await peers()
    }

    static func withLab(
        _ body: (InteropLab, BIRDRouter, Running) async throws -> Void
    ) async {
        var logger = Logger(label: "agent-bfd")
        logger.logLevel = .notice
        var router: BIRDRouter?
        var running: Running?
        do {
            let lab = try InteropLab()
            do {
                router = try BIRDRouter(lab: lab, passwords: [nil, nil], bfd: true)
                running = try Self.start(lab, logger: logger)
                if let router, let running { try await body(lab, router, running) }
            } catch {
                Issue.record(error)
            }
            if let router, router.daemon.isRunning { kill(router.daemon.processIdentifier, SIGCONT) }
            await running?.speaker.stop(reason: "interop test teardown")
            await running?.service.shutdown()
            router?.stop()
            lab.tearDown()
        } catch {
            Issue.record(error)
        }
    }

    /// BIRD frozen (as a hung router would be): the agent's BFD sessions time out after 3 × 300 ms
    /// and take both BGP sessions down with Cease / BFD Down, long before the 9 s hold timer.
    @Test(.enabled(if: birdMissing == nil, Comment(rawValue: birdMissing ?? "")), .timeLimit(.minutes(1)))
    func aFrozenRouterIsLeftWithinABFDDetectionTime() async {
        await Self.withLab { _, router, running in
            let up = await Self.waitUntilUp(running)
            #expect(
                up.allSatisfy { $0.isEstablished && $0.bfd?.isUp == true },
                "BGP and BFD up: \(up.map { "\($0.peer) \($0.state) bfd \($0.bfd?.state ?? "-")" })")
            #expect(up.allSatisfy { ($0.bfd?.packetsReceived ?? 0) > 0 && ($0.bfd?.packetsSent ?? 0) > 0 })
            #expect(up.allSatisfy { $0.bfd?.detectionTimeMs == 900 }, "300 ms × 3 negotiated with BIRD")
            guard up.count == 2, up.allSatisfy({ $0.isEstablished && $0.bfd?.isUp == true }) else { return }

            let frozenAt = ContinuousClock.now
            kill(router.daemon.processIdentifier, SIGSTOP)
            let left = await InteropEnvironment.eventually(within: .seconds(8)) {
                await running.speaker.status().allSatisfy { $0.state != .established }
            }
            let elapsed = ContinuousClock.now - frozenAt
            // Read before BIRD thaws: it answers again at once and the sessions start over.
            let lost = await running.service.status()
            kill(router.daemon.processIdentifier, SIGCONT)
            print("agent BFD: BIRD SIGSTOP -> both BGP sessions left Established in \(elapsed) (hold time 9 s)")
            #expect(left, "a BGP session stayed Established")
            #expect(elapsed < .seconds(3), "well before the 9 s hold timer")
            for peer in await running.speaker.status() {
                #expect(peer.lastNotificationSent?.code == BGPNotification.Code.cease, "\(peer.peer)")
                #expect(peer.lastNotificationSent?.subcode == BGPNotification.CeaseSubcode.bfdDown, "\(peer.peer)")
            }
            #expect(
                lost.count == 2
                    && lost.allSatisfy { $0.state == .down && $0.localDiagnostic == .controlDetectionTimeExpired },
                "\(lost.map { "\($0.peer.name) \($0.state) \($0.localDiagnostic)" })")
        }
    }

    /// Leaving as `Agent.leaveRouting` does (Cease, then BFD AdminDown): BIRD records the
    /// administrative shutdown with the agent's text, not a BFD failure.
    @Test(.enabled(if: birdMissing == nil, Comment(rawValue: birdMissing ?? "")), .timeLimit(.minutes(1)))
    func leavingIsAnAdministrativeShutdownNotABFDFailure() async {
        await Self.withLab { _, router, running in
            let up = await Self.waitUntilUp(running)
            guard up.count == 2, up.allSatisfy({ $0.isEstablished && $0.bfd?.isUp == true }) else {
                Issue.record("BGP and BFD never came up: \(up)")
                return
            }
            await running.speaker.stop(reason: "switchyard agent shutting down")
            await running.service.shutdown()
            let told = try await InteropEnvironment.eventually(within: .seconds(5)) {
                try router.control("show", "protocols", "all", "s1v4").contains("switchyard agent shutting down")
            }
            let protocolText = try router.control("show", "protocols", "all", "s1v4")
            #expect(told, "the router saw the Cease with the agent's text: \(protocolText)")
            #expect(!protocolText.contains("BFD session down"), "\(protocolText)")
            #expect(await running.service.status().isEmpty, "every BFD session stopped")
        }
    }
}
