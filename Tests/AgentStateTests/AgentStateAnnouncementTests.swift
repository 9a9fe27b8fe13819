import DatapathModel
import SwitchyardCore
import Testing

@testable import SwitchyardControl

/// What the agent announces over BGP, driven by events and a manual clock: a VIP goes out only
/// once programmed, attached and healthy, goes away when that stops, and a drain marks it
/// GRACEFUL_SHUTDOWN before withdrawing it when the period ends.
@Suite struct AgentStateAnnouncementTests {
    static let vip = IPAddress("10.200.0.10")!
    static let vip6 = IPAddress("2001:db8::10")!
    static let host = IPPrefix("10.200.0.10/32")!
    static let host6 = IPPrefix("2001:db8::10/128")!
    static let check = HealthCheck(kind: .tcp, intervalSeconds: 1, timeoutSeconds: 0.5, rise: 1, fall: 1)
    static let community = RouteCommunity(asn: 65000, value: 100)

    static func bgp(drainSeconds: Double = 15) -> BGPSettings {
        BGPSettings(
            asn: 65001, routerID: IPv4Address(10, 0, 0, 11), drainSeconds: drainSeconds,
            peers: [BGPPeerSettings(address: IPAddress("10.0.0.1")!, asn: 65000, families: [.ipv4, .ipv6])])
    }

    static func config(
        mode: ServiceMode = .stateless, serviceShard: UInt32? = nil, nodeShard: UInt32? = nil,
        bgp: BGPSettings? = bgp(), extra: [Service] = []
    ) -> SwitchyardConfig {
        let backends = [1, 2].map { Backend(address: IPAddress("10.1.0.\($0)")!, port: 80) }
        let web = Service(
            name: "web", key: World.web, mode: mode, backends: backends, healthCheck: check, shard: serviceShard,
            communities: [community])
        return SwitchyardConfig(
            node: NodeSettings(
                name: "lb1", ipv4Source: IPv4Address(10, 0, 0, 11), ipv6Source: IPv6Address("fd00::11"),
                interface: "eth0", maglevTableSize: 1009, shard: nodeShard, bgp: bgp),
            services: [web] + extra)
    }

    /// Started, programmed and attached; the flow store loaded when `storeLoaded`.
    static func serving(_ config: SwitchyardConfig, storeLoaded: Bool = true) throws -> AgentState {
        var state = try World.started(config)
        _ = state.datapathAttached()
        if storeLoaded { _ = state.flowStoreWasLoaded() }
        return state
    }

    static func route(_ communities: [RouteCommunity] = [community]) -> RouteAnnouncement {
        RouteAnnouncement(nextHop: IPAddress("10.0.0.11")!, communities: communities)
    }

    @Test func aVIPIsAnnouncedOnceProgrammedAndAttached() throws {
        var state = AgentState(config: Self.config(), savedAllocation: nil)
        let start = try state.starting(reusedPinnedMaps: false)
        #expect(start.announcements.isEmpty, "nothing is programmed yet")
        let programmed = state.programmed(ProgrammingResult())
        #expect(programmed.announcements.isEmpty, "not attached: no packet would reach the datapath")
        #expect(state.announcementDecision.withheld == [Self.vip: .notAttached])
        let attached = state.datapathAttached()
        #expect(attached.announcements == [[Self.host: Self.route()]])
        #expect(attached.logs.contains { $0.message == "VIP announced" && $0.metadata["vip"] == "10.200.0.10" })
        #expect(state.datapathAttached().announcements.isEmpty, "an unchanged decision announces nothing")
    }

    @Test func theLastHealthyBackendsLossWithdrawsAndRecoveryAnnouncesAfterProgramming() throws {
        var state = try Self.serving(Self.config())
        #expect(
            state.probeReported(World.backend(1), ok: false, detail: "refused", at: .seconds(1)).announcements.isEmpty)
        let down = state.probeReported(World.backend(2), ok: false, detail: "refused", at: .seconds(2))
        #expect(down.announcements == [[:]])
        #expect(state.announcementDecision.withheld == [Self.vip: .noHealthyBackend])
        #expect(down.logs.contains { $0.message == "VIP withdrawn" && $0.metadata["reason"] == "noHealthyBackend" })
        _ = state.programmed(ProgrammingResult())
        let up = state.probeReported(World.backend(2), ok: true, detail: "ok", at: .seconds(3))
        #expect(up.announcements.isEmpty, "the ring holding the backend is not programmed yet")
        #expect(state.programmed(ProgrammingResult()).announcements == [[Self.host: Self.route()]])
    }

    /// A cut link fails every probe at once; when it comes back, the VIP waits until every backend
    /// whose probes succeed again is up, so the rings it announces with hold them all (lab
    /// scenario lb-link-down: announcing with the first backend up sent the others' connections
    /// to it, which reset them).
    @Test func afterLosingEveryBackendTheVIPWaitsForAllThatComeBack() throws {
        let rise2 = HealthCheck(kind: .tcp, intervalSeconds: 1, timeoutSeconds: 0.5, rise: 2, fall: 1)
        var config = Self.config()
        config.services[0].healthCheck = rise2
        var state = try Self.serving(config)
        _ = state.probeReported(World.backend(1), ok: false, detail: "unreachable", at: .seconds(1))
        _ = state.probeReported(World.backend(2), ok: false, detail: "unreachable", at: .seconds(1))
        _ = state.programmed(ProgrammingResult())
        #expect(state.announcementDecision.withheld == [Self.vip: .noHealthyBackend])
        // The link is back: both succeed once (rising), then backend 1 reaches rise first.
        _ = state.probeReported(World.backend(1), ok: true, detail: "ok", at: .seconds(2))
        _ = state.probeReported(World.backend(2), ok: true, detail: "ok", at: .seconds(2))
        _ = state.probeReported(World.backend(1), ok: true, detail: "ok", at: .seconds(3))
        #expect(state.programmed(ProgrammingResult()).announcements.isEmpty, "backend 2 is still coming back")
        #expect(state.announcementDecision.withheld == [Self.vip: .healthSettling])
        _ = state.probeReported(World.backend(2), ok: true, detail: "ok", at: .seconds(3))
        #expect(state.programmed(ProgrammingResult()).announcements == [[Self.host: Self.route()]])
    }

    /// A backend that stops coming back (fails again) releases the VIP it was holding back.
    @Test func aBackendThatFailsAgainStopsHoldingTheVIPBack() throws {
        let rise2 = HealthCheck(kind: .tcp, intervalSeconds: 1, timeoutSeconds: 0.5, rise: 2, fall: 1)
        var config = Self.config()
        config.services[0].healthCheck = rise2
        var state = try Self.serving(config)
        _ = state.probeReported(World.backend(1), ok: false, detail: "unreachable", at: .seconds(1))
        _ = state.probeReported(World.backend(2), ok: false, detail: "unreachable", at: .seconds(1))
        _ = state.programmed(ProgrammingResult())
        _ = state.probeReported(World.backend(1), ok: true, detail: "ok", at: .seconds(2))
        _ = state.probeReported(World.backend(2), ok: true, detail: "ok", at: .seconds(2))
        _ = state.probeReported(World.backend(1), ok: true, detail: "ok", at: .seconds(3))
        _ = state.programmed(ProgrammingResult())
        #expect(state.announcementDecision.withheld == [Self.vip: .healthSettling])
        let failed = state.probeReported(World.backend(2), ok: false, detail: "refused", at: .seconds(3))
        #expect(failed.announcements == [[Self.host: Self.route()]])
    }

    @Test func aDrainAnnouncesGracefulShutdownThenWithdrawsWhenThePeriodEnds() throws {
        var state = try Self.serving(Self.config(bgp: Self.bgp(drainSeconds: 30)))
        let drain = state.drainRequested(at: .seconds(100), trigger: "admin API")
        #expect(drain.announcements == [[Self.host: Self.route([Self.community, .gracefulShutdown])]])
        #expect(drain.timerRequests == [AgentTimerRequest(timer: .reannounce, after: .seconds(30))])
        #expect(state.draining && state.announcingGracefulShutdown)
        #expect(state.drainRequested(at: .seconds(110), trigger: "SIGTERM").announcements.isEmpty)
        // Another event before the end decides at the latest time seen: still GRACEFUL_SHUTDOWN.
        #expect(state.programmed(ProgrammingResult()).announcements.isEmpty)
        let early = state.timerFired(.reannounce, at: .seconds(129))
        #expect(early.announcements.isEmpty)
        #expect(early.timerRequests == [AgentTimerRequest(timer: .reannounce, after: .seconds(1))])
        let end = state.timerFired(.reannounce, at: .seconds(130))
        #expect(end.announcements == [[:]])
        #expect(state.announcementDecision.withheld == [Self.vip: .draining])
        #expect(!state.announcingGracefulShutdown)
        let back = state.undrainRequested(at: .seconds(200), trigger: "admin API")
        #expect(back.announcements == [[Self.host: Self.route()]])
    }

    @Test func aCancelledDrainAnnouncesNormallyAgain() throws {
        var state = try Self.serving(Self.config())
        _ = state.drainRequested(at: .seconds(1), trigger: "admin API")
        #expect(
            state.undrainRequested(at: .seconds(2), trigger: "admin API").announcements == [[Self.host: Self.route()]])
        #expect(state.timerFired(.reannounce, at: .seconds(16)).announcements.isEmpty, "the old drain's end is moot")
    }

    @Test func onlyTheNodesShardIsAnnounced() throws {
        var state = try Self.serving(Self.config(serviceShard: 2, nodeShard: 1))
        #expect(state.announcementDecision.withheld == [Self.vip: .otherShard])
        let moved = state.configLoaded(Self.config(serviceShard: 1, nodeShard: 1), trigger: "SIGHUP")
        #expect(moved.announcements == [[Self.host: Self.route()]])
        let nodeMoved = state.configLoaded(Self.config(serviceShard: 1, nodeShard: 3), trigger: "SIGHUP")
        #expect(nodeMoved.announcements == [[:]], "the node's own shard is followed on reload too")
    }

    @Test func aStatefulVIPWaitsForTheFlowStore() throws {
        var state = try Self.serving(Self.config(mode: .stateful), storeLoaded: false)
        #expect(state.announcementDecision.withheld == [Self.vip: .storeNotLoaded])
        #expect(state.flowStoreWasLoaded().announcements == [[Self.host: Self.route()]])
    }

    @Test func aVIPsServicesShareOneRouteAndIPv6IsAHostRoute() throws {
        let https = Service(
            name: "web-tls", key: ServiceKey(vip: Self.vip, port: 443, proto: .tcp),
            backends: [Backend(address: IPAddress("10.1.0.3")!, port: 443)],
            communities: [RouteCommunity(asn: 65000, value: 200), Self.community],
            largeCommunities: [LargeRouteCommunity(65000, 1, 2)])
        let web6 = Service(
            name: "web6", key: ServiceKey(vip: Self.vip6, port: 80, proto: .tcp),
            backends: [Backend(address: IPAddress("fd00:1::1")!, port: 80)])
        var state = AgentState(config: Self.config(extra: [https, web6]), savedAllocation: nil)
        _ = try state.starting(reusedPinnedMaps: false)
        _ = state.programmed(ProgrammingResult())
        let routes = try #require(state.datapathAttached().announcements.first)
        let web = try #require(routes[Self.host])
        #expect(web.communities == [Self.community, RouteCommunity(asn: 65000, value: 200)])
        #expect(web.largeCommunities == [LargeRouteCommunity(65000, 1, 2)])
        #expect(routes[Self.host6] == RouteAnnouncement(nextHop: IPAddress("fd00::11")!))
        #expect(routes.count == 2)
    }

    @Test func aVIPRemovedFromTheConfigIsWithdrawnBeforeReprogramming() throws {
        var state = try Self.serving(Self.config())
        var other = Self.config()
        other.services[0].key = ServiceKey(vip: IPAddress("10.200.0.11")!, port: 80, proto: .tcp)
        let reload = state.configLoaded(other, trigger: "SIGHUP")
        #expect(reload.announcements == [[:]], "the old VIP goes at once, the new one waits for its programming")
        let host11 = try #require(IPPrefix("10.200.0.11/32"))
        #expect(state.programmed(ProgrammingResult()).announcements.map { Array($0.keys) } == [[host11]])
    }

    @Test func withoutBGPNothingIsAnnounced() throws {
        var state = try Self.serving(Self.config(bgp: nil))
        #expect(state.drainRequested(at: .seconds(1), trigger: "admin API").announcements.isEmpty)
        #expect(state.announcementDecision == AnnouncementDecision())
    }

    @Test func statusShowsEachVIPsAnnouncement() throws {
        var state = try Self.serving(Self.config())
        _ = state.drainRequested(at: .seconds(1), trigger: "admin API")
        let status = state.status(
            counters: CounterDelta(), events: [:],
            runtime: AgentRuntime(xdpMode: "native", reusedPinnedMaps: false, configSource: "t"),
            flowSync: nil)
        let bgp = try #require(status.bgp)
        #expect(bgp.draining && bgp.asn == 65001 && bgp.routerID == "10.0.0.11")
        #expect(bgp.vips == [AgentStatus.VIPAnnouncement(vip: "10.200.0.10", state: "gshut")])
        _ = state.timerFired(.reannounce, at: .seconds(16))
        let after = state.status(
            counters: CounterDelta(), events: [:],
            runtime: AgentRuntime(xdpMode: "native", reusedPinnedMaps: false, configSource: "t"),
            flowSync: nil)
        #expect(
            after.bgp?.vips == [AgentStatus.VIPAnnouncement(vip: "10.200.0.10", state: "withheld", reason: "draining")])
    }
}

/// An `.armTimer` as a comparable value.
struct AgentTimerRequest: Equatable {
    var timer: AgentTimer
    var after: Duration
}

extension [AgentAction] {
    var announcements: [[IPPrefix: RouteAnnouncement]] {
        compactMap { if case .announce(let routes) = $0 { routes } else { nil } }
    }
    var timerRequests: [AgentTimerRequest] {
        compactMap {
            if case .armTimer(let timer, let after) = $0 { AgentTimerRequest(timer: timer, after: after) } else { nil }
        }
    }
}
