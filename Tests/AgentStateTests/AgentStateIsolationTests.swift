import DatapathModel
import SwitchyardCore
import Testing

@testable import SwitchyardControl

/// A node whose every BFD path is down is cut off from its routers: its probes fail because of
/// its own link, so it ignores them and forgets what they said (lab scenario lb-link-down: a
/// node that rejoined with half its backends marked down re-picked the connections the router
/// sent back to it onto the wrong backends).
@Suite struct AgentStateIsolationTests {
    static let router = IPAddress("10.0.0.1")!
    static let check = HealthCheck(kind: .tcp, intervalSeconds: 0.5, timeoutSeconds: 0.3, rise: 2, fall: 1)

    static func config(bfd: Bool = true) -> SwitchyardConfig {
        var config = AgentStateAnnouncementTests.config()
        config.services[0].healthCheck = check
        config.node.bgp?.peers = [
            BGPPeerSettings(
                address: router, asn: 65000, families: [.ipv4, .ipv6],
                bfd: bfd ? BFDSettings(intervalMs: 300, multiplier: 3) : nil)
        ]
        return config
    }

    static func ringBackends(_ actions: [AgentAction]) -> [BackendState]? {
        for case .program(let tables, _) in actions {
            return tables.backends.values.map(\.state).sorted { $0.rawValue < $1.rawValue }
        }
        return nil
    }

    @Test func cutOffTheNodeForgetsItsHealthViewAndIgnoresProbes() throws {
        var state = try AgentStateAnnouncementTests.serving(Self.config())
        _ = state.probeReported(World.backend(1), ok: false, detail: "timeout", at: .seconds(1))
        _ = state.programmed(ProgrammingResult())
        #expect(state.health[World.backend(1)]?.health == .down, "before the cut: a real failure counts")

        let cut = state.bfdPathChanged(peer: Self.router, up: false, at: .seconds(2))
        #expect(state.isolated)
        #expect(state.health.isEmpty, "the health view is forgotten")
        #expect(Self.ringBackends(cut) == [.up, .up], "full rings again: every backend optimistic")
        #expect(cut.logs.contains { $0.message.contains("cut off from every router") })
        _ = state.programmed(ProgrammingResult())
        #expect(state.probeReported(World.backend(2), ok: false, detail: "timeout", at: .seconds(3)).isEmpty)
        #expect(state.health.isEmpty, "probes while cut off are ignored")

        let back = state.bfdPathChanged(peer: Self.router, up: true, at: .seconds(4))
        #expect(!state.isolated)
        #expect(back.logs.contains { $0.message.contains("reachable again") })
        let failed = state.probeReported(World.backend(2), ok: false, detail: "refused", at: .seconds(5))
        #expect(Self.ringBackends(failed) != nil, "after the cut, probes count again")
        #expect(state.health[World.backend(2)]?.health == .down)
    }

    /// A probe that started during the cut and fails after the path returned (it timed out on
    /// the cut) says nothing about the backend; one started after the return counts.
    @Test func probesStartedBeforeThePathReturnedDoNotCount() throws {
        var state = try AgentStateAnnouncementTests.serving(Self.config())
        _ = state.bfdPathChanged(peer: Self.router, up: false, at: .seconds(2))
        _ = state.programmed(ProgrammingResult())
        _ = state.bfdPathChanged(peer: Self.router, up: true, at: .seconds(4))
        let stale = state.probeReported(
            World.backend(2), ok: false, detail: "timeout", startedAt: .milliseconds(3900), at: .milliseconds(4200))
        #expect(stale.isEmpty && state.health[World.backend(2)] == nil, "started during the cut: ignored")
        let fresh = state.probeReported(
            World.backend(2), ok: false, detail: "refused", startedAt: .milliseconds(4300), at: .milliseconds(4400))
        #expect(Self.ringBackends(fresh) != nil && state.health[World.backend(2)]?.health == .down)
        let succeeded = state.probeReported(
            World.backend(1), ok: true, detail: "ok", startedAt: .milliseconds(3900), at: .milliseconds(4200))
        #expect(succeeded.isEmpty && state.health[World.backend(1)] != nil, "a success is believed whenever it began")
    }

    /// Without BFD there is no isolation signal: probes always count.
    @Test func withoutBFDProbesAlwaysCount() throws {
        var state = try AgentStateAnnouncementTests.serving(Self.config(bfd: false))
        _ = state.bfdPathChanged(peer: Self.router, up: false, at: .seconds(1))
        #expect(!state.isolated)
        _ = state.probeReported(World.backend(1), ok: false, detail: "timeout", at: .seconds(2))
        #expect(state.health[World.backend(1)]?.health == .down)
    }
}
