import Foundation
import Logging
import SwitchyardBGPSpeaker
import SwitchyardControl
import SwitchyardCore
import Testing

@testable import SwitchyardAgent

/// The agent's announcement path against BIRD: `AgentState` decides, `AgentBGP` turns `node.bgp`
/// into sessions and decisions into routes, the speaker announces; the router's kernel table is
/// the judge. The datapath is left out (it needs BPF): its outcomes are fed to the state machine
/// as the agent's executor reports them.
@Suite(.serialized) struct AgentAnnouncementInteropTests {
    static let birdMissing = InteropEnvironment.missing(InteropEnvironment.birdBinaries)
    static let vip4 = "198.51.100.10/32"
    static let vip6 = "2001:db8:100::10/128"

    /// Lab speaker 1 as an LB node: one IPv4 and one IPv6 session to the router.
    static func config(_ lab: InteropLab) -> SwitchyardConfig? {
        let node = lab.speakers[0]
        guard case .v4(let source4) = node.address4, case .v6(let source6) = node.address6,
            let vip4 = IPAddress("198.51.100.10"), let vip6 = IPAddress("2001:db8:100::10"),
            let backend4 = IPAddress("10.1.0.1"), let backend6 = IPAddress("fd00:1::1")
        else { return nil }
        let bgp = BGPSettings(
            asn: node.asn, routerID: source4, holdSeconds: 9, drainSeconds: 1,
            peers: [
                BGPPeerSettings(
                    address: node.routerAddress4, asn: InteropLab.routerASN, sourceAddress: node.address4,
                    families: [.ipv4]),
                BGPPeerSettings(
                    address: node.routerAddress6, asn: InteropLab.routerASN, sourceAddress: node.address6,
                    families: [.ipv6]),
            ])
        let check = HealthCheck(rise: 1, fall: 1)
        return SwitchyardConfig(
            node: NodeSettings(
                name: "lb1", ipv4Source: source4, ipv6Source: source6, interface: "eth0", maglevTableSize: 1009,
                bgp: bgp),
            services: [
                Service(
                    name: "web", key: ServiceKey(vip: vip4, port: 80, proto: .tcp),
                    backends: [Backend(address: backend4, port: 80)], healthCheck: check,
                    communities: [RouteCommunity(asn: 65000, value: 100)]),
                Service(
                    name: "web6", key: ServiceKey(vip: vip6, port: 80, proto: .tcp),
                    backends: [Backend(address: backend6, port: 80)]),
            ])
    }

    /// What the agent's executor does with an `.announce`.
    static func perform(_ actions: [AgentAction], _ speaker: BGPSpeaker) {
        for case .announce(let routes) in actions { speaker.setRoutes(AgentBGP.routes(routes)) }
    }

    static func expectHops(
        _ lab: InteropLab, _ hops4: Set<String>, _ hops6: Set<String>, _ what: Comment,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let reached = try await InteropEnvironment.eventually(within: .seconds(10)) {
            try lab.kernelNextHops(vip4) == hops4 && lab.kernelNextHops(vip6) == hops6
        }
        let actual = "\(try lab.kernelNextHops(vip4)) and \(try lab.kernelNextHops(vip6))"
        #expect(reached, "\(what): kernel has \(actual)", sourceLocation: sourceLocation)
    }

    @Test(.enabled(if: birdMissing == nil, Comment(rawValue: birdMissing ?? "")), .timeLimit(.minutes(1)))
    func anAgentsVIPsReachBIRDAndLeaveByHealthAndDrain() async throws {
        let lab = try InteropLab()
        var router: BIRDRouter?
        var speaker: BGPSpeaker?
        do {
            router = try BIRDRouter(lab: lab, passwords: [nil, nil])
            let config = try #require(Self.config(lab))
            let bgp = try #require(config.node.bgp)
            var logger = Logger(label: "agent")
            logger.logLevel = .notice
            let peers = AgentBGP.peerConfigurations(bgp, logger: logger).map { peer in
                var peer = peer
                peer.transport.networkNamespacePath = lab.speakers[0].namespacePath
                peer.transport.connectTimeout = .seconds(2)
                peer.session.connectRetry = .milliseconds(500)
                peer.session.maxConnectRetry = .seconds(2)
                return peer
            }
            #expect(peers.count == 2)
            let running = BGPSpeaker(peers: peers, logger: logger)
            speaker = running
            if let router { try await scenario(lab, router, config, running) }
        } catch {
            Issue.record(error)
        }
        await speaker?.stop(reason: "interop test teardown")
        router?.stop()
        lab.tearDown()
    }

    /// Programmed and attached: both VIPs appear; the IPv4 VIP's only backend fails: it goes; a
    /// drain keeps the IPv6 VIP (GRACEFUL_SHUTDOWN, still the only path) until the period ends;
    /// the shutdown's Cease reaches the router with the agent's text.
    private func scenario(
        _ lab: InteropLab, _ router: BIRDRouter, _ config: SwitchyardConfig, _ speaker: BGPSpeaker
    ) async throws {
        let hop4: Set = ["\(lab.speakers[0].address4)"]
        let hop6: Set = ["\(lab.speakers[0].address6)"]
        var state = AgentState(config: config, savedAllocation: nil)
        speaker.start()
        Self.perform(try state.starting(reusedPinnedMaps: false), speaker)
        Self.perform(state.programmed(ProgrammingResult()), speaker)
        try await Self.expectHops(lab, [], [], "not attached: nothing announced")
        Self.perform(state.datapathAttached(), speaker)
        try await Self.expectHops(lab, hop4, hop6, "programmed, attached and healthy: both VIPs announced")

        let backend = BackendKey(
            service: config.services[0].key,
            backend: BackendIdentity(address: config.services[0].backends[0].address, port: 80))
        Self.perform(state.probeReported(backend, ok: false, detail: "refused", at: .seconds(1)), speaker)
        try await Self.expectHops(lab, [], hop6, "the IPv4 VIP lost its only backend")

        let drain = state.drainRequested(at: .seconds(2), trigger: "SIGTERM")
        Self.perform(drain, speaker)
        let marked = try await InteropEnvironment.eventually(within: .seconds(5)) {
            try router.control("show", "route", Self.vip6, "all").contains("(65535,0)")
        }
        #expect(marked, "the drained route carries GRACEFUL_SHUTDOWN")
        try await Self.expectHops(lab, [], hop6, "draining: still the only path, so still installed")
        Self.perform(state.timerFired(.reannounce, at: .seconds(3)), speaker)
        try await Self.expectHops(lab, [], [], "the drain period is over: withdrawn")

        await speaker.stop(reason: "switchyard agent shutting down")
        let told = try await InteropEnvironment.eventually(within: .seconds(5)) {
            try router.control("show", "protocols", "all", "s1v4").contains("switchyard agent shutting down")
        }
        #expect(told, "the router saw the Cease with the agent's text")
    }
}
