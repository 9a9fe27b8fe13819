extension LabBGPFabric {
    /// BIRD 2 as the lab's router: one passive eBGP session per LB node and family, BFD on each,
    /// an import filter that takes only host routes from the VIP ranges, and ECMP into the kernel.
    ///
    /// - GRACEFUL_SHUTDOWN (RFC 8326 §4.1): BIRD leaves the receiver's policy to the filter, so
    ///   the filter lowers LOCAL_PREF to 0 for (65535, 0); the draining node's path stops being
    ///   best and drops out of the ECMP set while it is still announced.
    /// - `merge paths` in the kernel protocols installs every equally good path as one multipath
    ///   route (BGP paths from different ASes merge: BIRD compares AS_PATH length, not content).
    /// - `error wait time 1, 5`: BIRD's default keeps a session down for 60 s after a hold-timer
    ///   expiry or a lost connection; a restarted or resumed agent must be able to rejoin at once.
    /// - Log lines carry milliseconds, and session states and events are logged: bench-bgp reads
    ///   when BFD declared a node down (`RouterLog`).
    public func birdConfiguration(logFile: String) -> String {
        var text = """
            log "\(logFile)" all;
            timeformat log iso long ms;
            debug protocols { states, events };
            router id \(Self.router4);
            protocol device {}
            protocol kernel k4 { ipv4 { import none; export all; }; merge paths on; }
            protocol kernel k6 { ipv6 { import none; export all; }; merge paths on; }
            protocol bfd {
                interface "*" {
                    min rx interval \(Self.bfdIntervalMs) ms;
                    min tx interval \(Self.bfdIntervalMs) ms;
                    multiplier \(Self.bfdMultiplier);
                };
            }
            filter vips4 {
                if (65535, 0) ~ bgp_community then bgp_local_pref = 0;
                if net ~ [ \(Self.vipRange4){32,32} ] then accept;
                reject;
            }
            filter vips6 {
                if (65535, 0) ~ bgp_community then bgp_local_pref = 0;
                if net ~ [ \(Self.vipRange6){128,128} ] then accept;
                reject;
            }

            """
        for node in nodes {
            let sessions = [("ipv4", Self.router4, node.address4), ("ipv6", Self.router6, node.address6)]
            for (family, local, neighbor) in sessions {
                text += """
                    protocol bgp \(Self.birdProtocol(node: node.index, family: family)) {
                        local \(local) as \(Self.routerASN);
                        neighbor \(neighbor) as \(node.asn);
                        passive on;
                        hold time \(Self.holdSeconds);
                        error wait time 1, \(Int(Self.routerErrorWaitSeconds));
                        bfd on;
                        \(family) { import filter vips\(family == "ipv4" ? "4" : "6"); export none; };
                    }

                    """
            }
        }
        return text
    }

    /// The BIRD protocol name of LB node `node`'s session of `family` (`ipv4`, `ipv6`).
    public static func birdProtocol(node: Int, family: String) -> String {
        "lb\(node)\(family == "ipv4" ? "v4" : "v6")"
    }
}
