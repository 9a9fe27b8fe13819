import Foundation
import SwitchyardDatapath

/// The two-tier topology (`LabTopology.twoTier`): an upstream router between the client and the
/// router, a BGP session per family between them, and the aggregates the upstream learns.
extension Lab {
    var upstreamSocket: String { "\(routerDirectory)/upstream.ctl" }

    /// The VIPs every LB node announces, as the aggregation condition's sources.
    var aggregateSources: LabBGPFabric.AggregateSources {
        LabBGPFabric.AggregateSources(
            ipv4: Self.announcedVIPs.filter { !$0.v6 }.map(\.vip), ipv6: Self.announcedVIPs.filter(\.v6).map(\.vip))
    }

    /// The upstream ↔ router link (up0 on both ends). The router sends client-bound traffic
    /// (backends' DSR replies) upstream; the upstream reaches the fabric through the router
    /// (statically: only the VIP ranges are its BGP's business).
    func linkUpstream() throws {
        try sh(["ip", "-n", upstream, "link", "add", "up0", "type", "veth", "peer", "name", "up0", "netns", router])
        for (ns, address4, address6) in [
            (upstream, LabBGPFabric.upstream4, LabBGPFabric.upstream6),
            (router, LabBGPFabric.aggregation4, LabBGPFabric.aggregation6),
        ] {
            try inNS(ns, ["ip", "link", "set", "up0", "mtu", "1600", "up"])
            try inNS(ns, ["ethtool", "-K", "up0", "tx", "off"])
            try inNS(ns, ["ip", "addr", "add", "\(address4)/24", "dev", "up0"])
            try inNS(ns, ["ip", "addr", "add", "\(address6)/64", "dev", "up0", "nodad"])
        }
        try sysctl(
            upstream,
            [
                "net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1",
                "net.ipv4.conf.all.rp_filter": "0", "net.ipv4.conf.default.rp_filter": "0",
            ])
        try inNS(router, ["ip", "route", "add", "10.77.1.0/24", "via", LabBGPFabric.upstream4])
        try inNS(router, ["ip", "-6", "route", "add", "fd77:1::/64", "via", LabBGPFabric.upstream6])
        try inNS(upstream, ["ip", "route", "add", "10.77.2.0/24", "via", LabBGPFabric.aggregation4])
        try inNS(upstream, ["ip", "-6", "route", "add", "fd77:2::/64", "via", LabBGPFabric.aggregation6])
    }

    /// BIRD in the upstream namespace; its files sit beside the router's (`upstream.*`), so the
    /// lab's teardown finds its pid file with the others.
    func startUpstream() throws {
        let config = "\(routerDirectory)/upstream.conf"
        try bgpFabric.birdUpstreamConfiguration(logFile: "\(routerDirectory)/upstream.log").write(
            toFile: config, atomically: true, encoding: .utf8)
        try spawn(
            upstream, ["bird", "-f", "-c", config, "-s", upstreamSocket, "-P", "\(routerDirectory)/upstream.pid"],
            log: "router/upstream.out")
        try waitForRouterFile(upstreamSocket, log: "router/upstream.out")
        log("upstream: bird up, learning the VIP ranges' aggregates from the router")
    }

    /// The routes the upstream router's BGP put in its kernel table, both families
    /// (`10.77.100.0/24`, `fd77:100::/64`).
    public func upstreamRoutes() throws -> Set<String> {
        var routes: Set<String> = []
        for family in ["-4", "-6"] {
            let text = try sh(["ip", "-n", upstream, family, "-j", "route", "show", "proto", "bird"])
            let list = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? []
            for route in list {
                guard let destination = route["dst"] as? String else { continue }
                routes.insert(destination.contains("/") ? destination : destination + (family == "-4" ? "/32" : "/128"))
            }
        }
        return routes
    }

    /// Until the upstream routes exactly the two aggregates.
    func waitForAggregates(timeout: Double = 30) throws {
        let want: Set = [LabBGPFabric.vipRange4, LabBGPFabric.vipRange6]
        let deadline = Date().addingTimeInterval(timeout)
        var have: Set<String> = []
        while Date() < deadline {
            have = try upstreamRoutes()
            if have == want { return }
            usleep(100_000)
        }
        let sessions = (try? sh(["birdc", "-s", upstreamSocket, "show", "protocols"])) ?? "(birdc failed)"
        throw NetworkNamespace.CommandError(
            description: "the upstream router routes \(have.sorted()), not the aggregates \(want.sorted()), "
                + "\(Int(timeout)) s after the lab came up; its sessions:\n\(sessions)")
    }
}
