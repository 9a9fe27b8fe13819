import Foundation
import Logging
import SwitchyardBFD
import SwitchyardBFDSession
import SwitchyardBGP
import SwitchyardBGPSpeaker
import SwitchyardCore
import Testing

/// The hook of RFC 5882 §4.3 end to end: a speaker's session to BIRD, BFD on the same path wired
/// to `BGPSpeaker.bfdStateChanged`; BIRD frozen, the BGP session leaves Established within about
/// a BFD detection time, long before its 9 s hold timer.
@Suite(.serialized) struct BFDBGPHookTests {
    static let birdMissing = InteropEnvironment.missing(InteropEnvironment.birdBinaries)

    @Test(.enabled(if: birdMissing == nil, Comment(rawValue: birdMissing ?? "")), .timeLimit(.minutes(1)))
    func bfdDownTakesBGPDownBeforeTheHoldTimer() async throws {
        let lab = try InteropLab()
        var router: BIRDBFDRouter?
        var logger = Logger(label: "bfd-bgp-hook")
        logger.logLevel = .notice
        let endpoint = lab.speakers[0]
        let speaker = BGPSpeaker(
            peers: [
                BGPPeerConfiguration(
                    transport: BGPPeerTransport(
                        peerAddress: endpoint.routerAddress4, sourceAddress: endpoint.address4,
                        networkNamespacePath: endpoint.namespacePath, connectTimeout: .seconds(2)),
                    session: try BGPSessionConfiguration(
                        localASN: endpoint.asn, routerID: IPv4Address(10, 77, 1, 2), peerASN: InteropLab.routerASN,
                        holdTime: 9, families: [.ipv4Unicast], connectRetry: .milliseconds(500),
                        maxConnectRetry: .seconds(2)))
            ], logger: logger)
        let service = BFDService(logger: logger)
        do {
            router = try BIRDBFDRouter(lab: lab, bgp: true)
            if let router { try await scenario(lab: lab, router: router, speaker: speaker, service: service) }
        } catch {
            Issue.record(error)
        }
        if let router, router.daemon.isRunning { kill(router.daemon.processIdentifier, SIGCONT) }
        await service.shutdown()
        await speaker.stop(reason: "hook test teardown")
        router?.stop()
        lab.tearDown()
    }

    private func scenario(lab: InteropLab, router: BIRDBFDRouter, speaker: BGPSpeaker, service: BFDService)
        async throws
    {
        let endpoint = lab.speakers[0]
        let peer = endpoint.routerAddress4
        let bfd = try service.start(
            BFDPeerConfiguration(
                localAddress: endpoint.address4, peerAddress: peer, intervalMs: 300, multiplier: 3,
                networkNamespacePath: endpoint.namespacePath),
            onChange: { change in
                if change.isPathLoss {
                    speaker.bfdStateChanged(peer: peer, up: false)
                } else if change.to == .up {
                    speaker.bfdStateChanged(peer: peer, up: true)
                }
            })
        speaker.start()
        let ready = try await InteropEnvironment.eventually(within: .seconds(15)) {
            let bgp = await speaker.status().first?.state
            let state = try await bfd.status().state
            return bgp == .established && state == .up
        }
        let bgpState = await speaker.status().first?.state
        let bfdState = try await bfd.status().state
        #expect(ready, "BGP \(bgpState.map { "\($0)" } ?? "-"), BFD \(bfdState)")
        guard ready else { return }

        let frozenAt = ContinuousClock.now
        kill(router.daemon.processIdentifier, SIGSTOP)
        let left = await InteropEnvironment.eventually(within: .seconds(5)) {
            await speaker.status().first?.state != .established
        }
        let elapsed = ContinuousClock.now - frozenAt
        kill(router.daemon.processIdentifier, SIGCONT)
        print("BFD hook: BIRD SIGSTOP -> BGP session left Established in \(elapsed) (hold time 9 s)")
        #expect(left, "the BGP session stayed Established")
        #expect(elapsed < .seconds(3), "well before the 9 s hold timer")
        let status = await speaker.status().first
        #expect(status?.lastNotificationSent?.code == BGPNotification.Code.cease)
        #expect(status?.lastNotificationSent?.subcode == BGPNotification.CeaseSubcode.bfdDown)
    }
}
