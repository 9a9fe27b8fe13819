import Foundation
import Glibc
import SwitchyardDatapath

/// One figure of `lab bench-bgp`: every run's seconds, their median and the worst.
public struct BGPBenchFigure: Sendable, Codable, Equatable {
    public var samples: [Double]
    public var p50Seconds: Double
    public var maxSeconds: Double

    enum CodingKeys: String, CodingKey {
        case samples = "samples_s"
        case p50Seconds = "p50_s"
        case maxSeconds = "max_s"
    }

    /// Nearest-rank median (the lower middle of an even count), to the millisecond.
    public init(samples: [Double]) {
        self.samples = samples.map { ($0 * 1000).rounded() / 1000 }
        let sorted = self.samples.sorted()
        p50Seconds = sorted.isEmpty ? 0 : sorted[(sorted.count - 1) / 2]
        maxSeconds = sorted.last ?? 0
    }
}

/// Where one figure's time goes: a stage between two moments the lab can see (a command, a
/// line in the agent's or the router's log, the kernel's route notification).
public struct BGPBenchStage: Sendable, Codable, Equatable {
    public var event: String
    public var stage: String
    public var figure: BGPBenchFigure
}

/// What `lab bench-bgp --json` prints. JSON keys are the lab's published interface.
public struct BGPBenchReport: Sendable, Codable, Equatable {
    public var router: String
    public var runs: Int
    /// From spawning lb3's agent until the router's kernel route for the IPv4 (IPv6) VIP lists it.
    public var agentStartIPv4: BGPBenchFigure
    public var agentStartIPv6: BGPBenchFigure
    /// From `switchyard drain` on lb3 until no VIP route on the router lists it.
    public var drain: BGPBenchFigure
    /// From lb3's fabric link going down until no VIP route on the router lists it (BFD).
    public var linkCut: BGPBenchFigure
    public var breakdown: [BGPBenchStage]

    enum CodingKeys: String, CodingKey {
        case router, runs, drain, breakdown
        case agentStartIPv4 = "agent_start_ipv4"
        case agentStartIPv6 = "agent_start_ipv6"
        case linkCut = "link_cut"
    }
}

extension Lab {
    /// The node every bench-bgp run moves: lb1 and lb2 stay in the ECMP group throughout.
    static let benchBGPNode = 3

    /// `lab bench-bgp`: `runs` rounds of agent start, drain and link cut on lb3, on this one lab,
    /// each timed to the router's kernel route (`RouteChangeWatcher`), with the stages the
    /// agent's and the router's logs show.
    public func benchBGP(runs: Int) throws -> BGPBenchReport {
        guard let daemon = options.routing.router else {
            throw NetworkNamespace.CommandError(
                description: "bench-bgp times BGP routing: build the lab with --routing bgp")
        }
        let i = Self.benchBGPNode
        guard options.lbNodes >= i else {
            throw NetworkNamespace.CommandError(description: "bench-bgp moves lb\(i): the lab needs \(i) LB nodes")
        }
        try setECMP(Array(1...options.lbNodes))
        var samples: [String: [Double]] = [:]
        func record(_ key: String, _ value: Double?) { if let value { samples[key, default: []].append(value) } }
        for run in 1...max(runs, 1) {
            let start = try timeAgentStart(i)
            record("start4", start.ipv4)
            record("start6", start.ipv6)
            record("start.announced", start.announced)
            let drained = try timeDrain(i)
            record("drain", drained.routeGone)
            record("drain.agent", drained.agentDraining)
            let cut = try timeLinkCut(i)
            record("cut", cut.routeGone)
            record("cut.bfd", cut.routerBFDDown)
            log(
                "bench-bgp run \(run): agent start \(start.ipv4) s (v4) \(start.ipv6) s (v6), "
                    + "drain \(drained.routeGone) s, link cut \(cut.routeGone) s")
        }
        func figure(_ key: String) -> BGPBenchFigure { BGPBenchFigure(samples: samples[key] ?? []) }
        func difference(_ total: String, _ part: String) -> BGPBenchFigure {
            let whole = samples[total] ?? []
            let first = samples[part] ?? []
            guard whole.count == first.count else { return BGPBenchFigure(samples: []) }
            return BGPBenchFigure(samples: zip(whole, first).map { $0 - $1 })
        }
        var breakdown: [BGPBenchStage] = []
        func stage(_ event: String, _ name: String, _ value: BGPBenchFigure) {
            if !value.samples.isEmpty { breakdown.append(BGPBenchStage(event: event, stage: name, figure: value)) }
        }
        stage("agent_start", "spawn to the agent's first 'VIP announced' log line", figure("start.announced"))
        stage(
            "agent_start", "VIP announced to the IPv4 route listing the node", difference("start4", "start.announced"))
        stage("drain", "drain command to the agent's 'node draining' log line", figure("drain.agent"))
        stage("drain", "agent draining to the routes without the node", difference("drain", "drain.agent"))
        stage("link_cut", "link down to the router's BFD session down (its log)", figure("cut.bfd"))
        stage("link_cut", "router BFD down to the routes without the node", difference("cut", "cut.bfd"))
        return BGPBenchReport(
            router: daemon.rawValue, runs: max(runs, 1), agentStartIPv4: figure("start4"),
            agentStartIPv6: figure("start6"), drain: figure("drain"), linkCut: figure("cut"), breakdown: breakdown)
    }

    /// lb`i`'s agent is killed; once the router has dropped it, a new one is spawned and timed
    /// until the router routes each VIP family over the node again.
    func timeAgentStart(_ i: Int) throws -> (ipv4: Double, ipv6: Double, announced: Double?) {
        guard let node = bgpFabric.node(i) else {
            throw NetworkNamespace.CommandError(description: "the lab has no LB node \(i)")
        }
        let others = ecmp.filter { $0 != i }
        killAgent(i)
        try waitForRouterRoute(others)
        // The router refuses a peer for a while after it failed (BIRD: `error wait time 1, 5`,
        // growing with repeated errors): start the new agent once that is over, so the figure is
        // a node starting, not the router's penalty for the previous round's kill.
        Thread.sleep(forTimeInterval: LabBGPFabric.routerErrorWaitSeconds + 1)
        let watcher = try RouteChangeWatcher(namespace: router)
        defer { watcher.stop() }
        let since = Date()
        try startAgent(i)
        func joined(_ vip: String, _ address: String) throws -> Double {
            let seconds = try timeRouterChange(
                watcher, vips: [vip], since: since, timeout: 30, failure: "the router does not route \(vip) to lb\(i)"
            ) { try routerNextHops(vip).contains(address) }
            return (seconds * 1000).rounded() / 1000
        }
        let ipv4 = try joined(Self.vip4, node.address4)
        let ipv6 = try joined(Self.vip6, node.address6)
        try waitForRouterRoute(ecmp)
        return (ipv4, ipv6, agentLogged(i, "VIP announced", since: since))
    }

    /// `switchyard drain` on lb`i` (GRACEFUL_SHUTDOWN takes it out of ECMP), then undrained.
    func timeDrain(_ i: Int) throws -> (routeGone: Double, agentDraining: Double?) {
        let since = Date()
        let gone = try timeRouterDrop(i) { try drain(i) }
        let agent = agentLogged(i, "node draining", since: since)
        try undrain(i)
        try waitForRouterRoute(ecmp)
        return (gone, agent)
    }

    /// lb`i`'s fabric link goes down (in-process, so the moment is exact), then comes back.
    func timeLinkCut(_ i: Int) throws -> (routeGone: Double, routerBFDDown: Double?) {
        try sysctl(lb(i), ["net.ipv6.conf.eth0.keep_addr_on_down": "1"])
        let since = Date()
        let gone: Double
        do {
            gone = try timeRouterDrop(i) { try LinkSwitch.set(up: false, interface: "eth0", namespace: lb(i)) }
        } catch {
            try? restoreLink(i)
            throw error
        }
        let bfd = routerLoggedBFDDown(i, since: since)
        try restoreLink(i)
        try waitForRouterRoute(ecmp, timeout: 60)
        return (gone, bfd)
    }

    /// Seconds from `since` to the first line of lb`i`'s agent log at or after `since` that
    /// contains `message` (the agent stamps lines with ISO 8601 and milliseconds).
    func agentLogged(_ i: Int, _ message: String, since: Date) -> Double? {
        let text = (try? String(contentsOfFile: "\(dir)/lb\(i).log", encoding: .utf8)) ?? ""
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for line in text.split(separator: "\n") where line.contains(message) {
            guard let stamp = line.split(separator: " ").first, let date = format.date(from: String(stamp)),
                date >= since
            else { continue }
            return date.timeIntervalSince(since)
        }
        return nil
    }
}
