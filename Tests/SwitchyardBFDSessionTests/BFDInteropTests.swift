import Foundation
import Logging
import SwitchyardBFD
import SwitchyardBFDSession
import SwitchyardCore
import Testing

/// Our sessions (sockets opened inside speaker 1's namespace) against a real router's BFD, at
/// issue 12's 300 ms × 3, over IPv4 and IPv6: both come Up; a stop of ours is seen by the router
/// as Down; a router whose daemon is frozen (SIGSTOP) is declared Down within a detection time,
/// and the figure is printed.
@Suite(.serialized) struct BFDInteropTests {
    static let birdMissing = InteropEnvironment.missing(InteropEnvironment.birdBinaries)
    static let frrMissing = InteropEnvironment.missing(["/usr/lib/frr/zebra", "/usr/lib/frr/bfdd", "/usr/bin/vtysh"])

    @Test(.enabled(if: birdMissing == nil, Comment(rawValue: birdMissing ?? "")), .timeLimit(.minutes(1)))
    func bird() async throws {
        try await withLab("BIRD") { lab in try BIRDBFDRouter(lab: lab) }
    }

    @Test(.enabled(if: frrMissing == nil, Comment(rawValue: frrMissing ?? "")), .timeLimit(.minutes(1)))
    func frr() async throws {
        try await withLab("FRR") { lab in try FRRBFDRouter(lab: lab) }
    }

    /// Builds the lab and the router, runs the scenario, and tears everything down whatever happened.
    private func withLab(_ name: String, _ makeRouter: (InteropLab) throws -> some BFDRouter) async throws {
        let lab = try InteropLab()
        var router: (any BFDRouter)?
        var logger = Logger(label: "bfd-interop")
        logger.logLevel = .notice
        let service = BFDService(logger: logger)
        do {
            router = try makeRouter(lab)
            if let router { try await scenario(name, lab: lab, router: router, service: service) }
        } catch {
            Issue.record(error)
        }
        if let router, router.bfdDaemon.isRunning { kill(router.bfdDaemon.processIdentifier, SIGCONT) }
        await service.shutdown()
        router?.stop()
        lab.tearDown()
    }

    private func scenario(_ name: String, lab: InteropLab, router: some BFDRouter, service: BFDService) async throws {
        let endpoint = lab.speakers[0]
        let recorder = ChangeRecorder()
        let v4 = try service.start(
            BFDPeerConfiguration(
                localAddress: endpoint.address4, peerAddress: endpoint.routerAddress4, intervalMs: 300, multiplier: 3,
                networkNamespacePath: endpoint.namespacePath))
        let v6 = try service.start(
            BFDPeerConfiguration(
                localAddress: endpoint.address6, peerAddress: endpoint.routerAddress6, intervalMs: 300, multiplier: 3,
                networkNamespacePath: endpoint.namespacePath),
            onChange: { recorder.record($0) })

        let up = try await InteropEnvironment.eventually(within: .seconds(10)) {
            let ours = [try await v4.status().state, try await v6.status().state]
            let theirs = [try router.sessionState(endpoint.address4), try router.sessionState(endpoint.address6)]
            return ours == [.up, .up] && theirs == ["up", "up"]
        }
        let statuses = [try await v4.status(), try await v6.status()]
        let routerView = try router.sessionState(endpoint.address4) ?? "-"
        #expect(
            up, "\(name): ours \(statuses.map(\.state)), router \(routerView)")
        guard up else { return }
        for status in statuses {
            #expect(status.transmitInterval == .milliseconds(300))
            #expect(status.detectionTime == .milliseconds(900))
            #expect(status.discarded.isEmpty, "\(status.discarded)")
        }

        // Our stop: AdminDown, which the router shows as a session down.
        await v4.stop()
        let seenDown = try await InteropEnvironment.eventually(within: .seconds(3)) {
            try router.sessionState(endpoint.address4) == "down"
        }
        let afterStop = try router.sessionState(endpoint.address4) ?? "no session"
        #expect(seenDown, "\(name) shows \(afterStop) after our stop")
        let other = try router.sessionState(endpoint.address6)
        #expect(other == "up", "the other session is untouched")

        // The router's BFD freezes: ours goes Down by its detection timer.
        let frozenAt = ContinuousClock.now
        kill(router.bfdDaemon.processIdentifier, SIGSTOP)
        let detected = await InteropEnvironment.eventually(within: .seconds(5)) { recorder.lossAt != nil }
        kill(router.bfdDaemon.processIdentifier, SIGCONT)
        #expect(detected, "\(name): no Down after SIGSTOP")
        guard let lossAt = recorder.lossAt, let loss = recorder.loss else { return }
        let elapsed = lossAt - frozenAt
        print("BFD \(name): daemon SIGSTOP -> our session Down in \(elapsed) (300 ms x 3, detection time 900 ms)")
        #expect(loss.diagnostic == .controlDetectionTimeExpired)
        #expect(elapsed <= .milliseconds(1000), "detected within a detection time (plus scheduling)")
    }
}

/// State changes as they happen, with the instant, from the session's event loop.
final class ChangeRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var firstLoss: (BFDStateChange, ContinuousClock.Instant)?

    func record(_ change: BFDStateChange) {
        let now = ContinuousClock.now
        lock.withLock {
            if change.isPathLoss && firstLoss == nil { firstLoss = (change, now) }
        }
    }

    var loss: BFDStateChange? { lock.withLock { firstLoss?.0 } }
    var lossAt: ContinuousClock.Instant? { lock.withLock { firstLoss?.1 } }
}
