import Foundation
import SwitchyardControl
import SwitchyardCore
import SwitchyardDatapath

/// ECMP membership by BGP (`--routing bgp`): the lab never writes the router's route. A node
/// that should carry no traffic is drained (`switchyard drain` in its namespace), one that should
/// is undrained (`switchyard drain --cancel`), and the router's kernel route is the judge: the
/// lab waits until it lists exactly the expected next hops for every VIP, IPv4 and IPv6.
extension Lab {
    /// The VIPs every LB node announces, with the fabric address family their next hops have.
    static let announcedVIPs: [(vip: String, v6: Bool)] = [(vip4, false), (vip6, true), (benchVIP, false)]

    /// The addresses the router should route to the ECMP group: the fixed VIPs, or with
    /// `--kubernetes` the addresses the controller has assigned to the lab's Services.
    var routedVIPs: [(vip: String, v6: Bool)] {
        guard options.kubernetes else { return Self.announcedVIPs }
        return serviceAddresses.values.sorted().map { ($0, $0.contains(":")) }
    }

    /// The next hops the router's kernel uses for `vip` (one for a plain route, several for
    /// ECMP), empty when it has no route for it.
    public func routerNextHops(_ vip: String) throws -> Set<String> {
        let text = try sh(["ip", "-n", router, vip.contains(":") ? "-6" : "-4", "-j", "route", "show", vip])
        guard let routes = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
            return []
        }
        var hops: Set<String> = []
        for route in routes {
            if let gateway = route["gateway"] as? String { hops.insert(gateway) }
            for hop in route["nexthops"] as? [[String: Any]] ?? [] {
                if let gateway = hop["gateway"] as? String { hops.insert(gateway) }
            }
        }
        return hops
    }

    /// The next hops the router should have for `vip` when `lbs` carry traffic.
    func expectedNextHops(_ lbs: [Int], v6: Bool) -> Set<String> {
        Set(lbs.compactMap { bgpFabric.node($0).map { v6 ? $0.address6 : $0.address4 } })
    }

    /// BGP mode's `setECMP`: drains the nodes leaving, undrains the ones joining, and waits for
    /// the router's route to follow.
    func setMembership(_ lbs: [Int]) throws {
        for i in 1...options.lbNodes {
            if lbs.contains(i), drained.contains(i) { try undrain(i) }
            if !lbs.contains(i), !drained.contains(i) { try drain(i) }
        }
        try waitForRouterRoute(lbs)
        ecmp = lbs
    }

    /// `switchyard drain` on lb`i`: its VIPs go out with GRACEFUL_SHUTDOWN, the router moves
    /// traffic to the other nodes, and after the drain period they are withdrawn.
    public func drain(_ i: Int) throws {
        try inNS(lb(i), [executable, "drain", "--socket", "\(dir)/lb\(i).sock"])
        drained.insert(i)
    }

    public func undrain(_ i: Int) throws {
        try inNS(lb(i), [executable, "drain", "--cancel", "--socket", "\(dir)/lb\(i).sock"])
        drained.remove(i)
    }

    /// Until the router's route for every VIP lists exactly `lbs`' addresses; the seconds it took.
    @discardableResult
    func waitForRouterRoute(_ lbs: [Int], timeout: Double = 30) throws -> Double {
        let started = Date()
        var last: [String: Set<String>] = [:]
        while true {
            var matched = true
            for (vip, v6) in routedVIPs {
                let hops = try routerNextHops(vip)
                last[vip] = hops
                if hops != expectedNextHops(lbs, v6: v6) { matched = false }
            }
            if matched { return Date().timeIntervalSince(started) }
            guard Date().timeIntervalSince(started) < timeout else {
                let have = last.sorted { $0.key < $1.key }.map { "\($0.key) via \($0.value.sorted())" }
                throw NetworkNamespace.CommandError(
                    description: "the router's route did not become \(lbs.map { "lb\($0)" }) in \(Int(timeout)) s: "
                        + "\(have.joined(separator: "; ")); its sessions:\n\(routerSessions())")
            }
            usleep(100_000)
        }
    }

    /// Seconds from the start of `change` until no VIP route on the router lists lb`i`, timed by
    /// the router's own route notifications (`RouteChangeWatcher`), so the figure is the
    /// router's: the lab's `ip route` checks only confirm the state, and their cost is not counted.
    func timeRouterDrop(_ i: Int, timeout: Double = 15, by change: () throws -> Void) throws -> Double {
        guard let node = bgpFabric.node(i) else {
            throw NetworkNamespace.CommandError(description: "the lab has no LB node \(i)")
        }
        let watcher = try RouteChangeWatcher(namespace: router)
        defer { watcher.stop() }
        let since = Date()
        try change()
        let seconds = try timeRouterChange(
            watcher, vips: routedVIPs.map(\.vip), since: since, timeout: timeout,
            failure: "the router still routes to lb\(i)"
        ) {
            try routedVIPs.allSatisfy { vip, v6 in
                !(try routerNextHops(vip).contains(v6 ? node.address6 : node.address4))
            }
        }
        return (seconds * 1000).rounded() / 1000
    }

    /// Seconds from `since` until `holds` is true of the router's routes, taken from the arrival
    /// of the last notification about one of `vips` that came before the check that saw it true
    /// (0 when none came: it already held). Checks run when notifications arrive, and every
    /// half second in case one was missed.
    func timeRouterChange(
        _ watcher: RouteChangeWatcher, vips: [String], since: Date, timeout: Double, failure: String,
        holds: () throws -> Bool
    ) throws -> Double {
        let destinations = Set(vips.compactMap { IPAddress($0) })
        let deadline = since.addingTimeInterval(timeout)
        while true {
            let before = watcher.count
            if try holds() {
                let changed = watcher.latestChange(to: destinations, since: since, upTo: watcher.count)
                return changed.map { $0.timeIntervalSince(since) } ?? 0
            }
            guard Date() < deadline else {
                throw NetworkNamespace.CommandError(
                    description: "\(failure) \(Int(timeout)) s after the change; its sessions:\n\(routerSessions())")
            }
            watcher.waitForMore(than: before, until: min(deadline, Date().addingTimeInterval(0.5)))
        }
    }

    /// Until lb`i`'s agent reports no prefix announced to any peer (the drain period is over).
    func waitForWithdrawal(_ i: Int, timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let peers = (try? agentStatus(i))?.bgp?.peers, peers.allSatisfy({ $0.prefixesAnnounced == 0 }) {
                return
            }
            guard Date() < deadline else {
                throw NetworkNamespace.CommandError(
                    description: "lb\(i) still announces VIPs \(Int(timeout)) s after its drain; see \(dir)/lb\(i).log")
            }
            usleep(100_000)
        }
    }
}
