extension LabBGPFabric {
    /// The upstream router of the two-tier topology and its link to the aggregation router.
    public static let upstreamASN = 64900
    public static let upstream4 = "10.77.3.1", upstream6 = "fd77:3::1"
    public static let aggregation4 = "10.77.3.2", aggregation6 = "fd77:3::2"

    /// The VIPs (host addresses) whose announcement keeps their range's aggregate alive, by
    /// family; the lab's VIPs.
    public struct AggregateSources: Sendable, Hashable {
        public var ipv4: [String]
        public var ipv6: [String]
        public init(ipv4: [String], ipv6: [String]) {
            self.ipv4 = ipv4
            self.ipv6 = ipv6
        }
    }

    /// What the aggregation router (BIRD) adds in the two-tier topology: one aggregate per VIP
    /// range, announced to the upstream router only while an LB node announces a VIP inside it.
    ///
    /// BIRD 2.0 has no aggregation protocol (`protocol aggregator` came with 2.14) and its
    /// filters cannot look at other routes, so the condition is made of recursive static
    /// routes: for each VIP, a static route for the range whose next hop is that VIP, resolved
    /// through `master` (where the LB nodes' host routes are). It is reachable exactly while
    /// some node announces the VIP. Each lives in a table of its own and a pipe copies it into
    /// `aggregates4/6` only while it is reachable (a pipe's export filter runs on every change,
    /// a recursive route's next-hop update does not re-run import filters). The range is in
    /// `aggregates` while any of its VIPs is announced; only that table is exported upstream,
    /// so neither the aggregate nor the host routes reach the kernel twice or the upstream.
    public func birdAggregation(sources: AggregateSources) -> String {
        var text = """
            ipv4 table aggregates4;
            ipv6 table aggregates6;
            filter only_reachable {
                if dest = RTD_UNREACHABLE then reject;
                accept;
            }

            """
        let families = [("ipv4", Self.vipRange4, sources.ipv4), ("ipv6", Self.vipRange6, sources.ipv6)]
        for (family, range, vips) in families {
            let suffix = family == "ipv4" ? "4" : "6"
            for (n, vip) in vips.enumerated() {
                let name = "agg\(suffix)_\(n + 1)"
                text += """
                    \(family) table \(name)_table;
                    protocol static \(name) {
                        \(family) { table \(name)_table; };
                        igp table master\(suffix);
                        route \(range) recursive \(vip);
                    }
                    protocol pipe \(name)_pipe {
                        table \(name)_table;
                        peer table aggregates\(suffix);
                        import none;
                        export filter only_reachable;
                    }

                    """
            }
            let (local, neighbor) =
                family == "ipv4" ? (Self.aggregation4, Self.upstream4) : (Self.aggregation6, Self.upstream6)
            text += """
                protocol bgp upstream\(suffix) {
                    local \(local) as \(Self.routerASN);
                    neighbor \(neighbor) as \(Self.upstreamASN);
                    hold time \(Self.holdSeconds);
                    error wait time 1, 5;
                    \(family) { table aggregates\(suffix); import none; export where net = \(range); };
                }

                """
        }
        return text
    }

    /// The upstream router (BIRD): one session per family to the aggregation router, taking only
    /// the two aggregates, into its kernel table.
    public func birdUpstreamConfiguration(logFile: String) -> String {
        """
        log "\(logFile)" all;
        timeformat log iso long ms;
        router id \(Self.upstream4);
        protocol device {}
        protocol kernel k4 { ipv4 { import none; export all; }; }
        protocol kernel k6 { ipv6 { import none; export all; }; }
        protocol bgp aggregation4 {
            local \(Self.upstream4) as \(Self.upstreamASN);
            neighbor \(Self.aggregation4) as \(Self.routerASN);
            hold time \(Self.holdSeconds);
            error wait time 1, 5;
            ipv4 { import where net = \(Self.vipRange4); export none; };
        }
        protocol bgp aggregation6 {
            local \(Self.upstream6) as \(Self.upstreamASN);
            neighbor \(Self.aggregation6) as \(Self.routerASN);
            hold time \(Self.holdSeconds);
            error wait time 1, 5;
            ipv6 { import where net = \(Self.vipRange6); export none; };
        }

        """
    }
}
