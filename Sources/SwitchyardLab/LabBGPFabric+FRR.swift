extension LabBGPFabric {
    /// FRR's bgpd as the lab's router: explicit passive neighbours (one per LB node and family),
    /// prefix-list route-maps that take only host routes from the VIP ranges and send nothing,
    /// ECMP with `maximum-paths` and `multipath-relax` (every LB node is its own AS), BFD through
    /// bfdd with the `lab` profile.
    ///
    /// GRACEFUL_SHUTDOWN needs no knob here: bgpd itself sets LOCAL_PREF 0 on a path received
    /// from an eBGP peer with the (65535, 0) community (RFC 8326 §4.1, `bgp_update`).
    /// `bgp graceful-shutdown` is the other direction — this router draining itself.
    public func frrBGPConfiguration(hostname: String) -> String {
        var neighbours = ""
        var ipv4 = ""
        var ipv6 = ""
        for node in nodes {
            for address in [node.address4, node.address6] {
                neighbours += """
                     neighbor \(address) remote-as \(node.asn)
                     neighbor \(address) passive
                     neighbor \(address) timers 1 \(Self.holdSeconds)
                     neighbor \(address) bfd profile \(Self.frrBFDProfile)

                    """
            }
            ipv4 += """
                  neighbor \(node.address4) route-map VIP4 in
                  neighbor \(node.address4) route-map NOTHING out
                  no neighbor \(node.address6) activate

                """
            ipv6 += """
                  neighbor \(node.address6) activate
                  neighbor \(node.address6) route-map VIP6 in
                  neighbor \(node.address6) route-map NOTHING out

                """
        }
        return """
            frr defaults traditional
            hostname \(hostname)
            ip prefix-list VIPS4 seq 5 permit \(Self.vipRange4) ge 32
            ipv6 prefix-list VIPS6 seq 5 permit \(Self.vipRange6) ge 128
            route-map VIP4 permit 10
             match ip address prefix-list VIPS4
            exit
            route-map VIP6 permit 10
             match ipv6 address prefix-list VIPS6
            exit
            route-map NOTHING deny 10
            exit
            router bgp \(Self.routerASN)
             bgp router-id \(Self.router4)
             bgp bestpath as-path multipath-relax
            \(neighbours) address-family ipv4 unicast
              maximum-paths 16
            \(ipv4) exit-address-family
             address-family ipv6 unicast
              maximum-paths 16
            \(ipv6) exit-address-family
            exit

            """
    }

    public static let frrBFDProfile = "lab"

    /// bfdd's side: the profile the BGP neighbours name (300 ms × 3 both ways). With `logFile`,
    /// session state changes are logged there to the millisecond (bench-bgp's `RouterLog`).
    public func frrBFDConfiguration(hostname: String, logFile: String? = nil) -> String {
        let logging = logFile.map { "log file \($0) debugging\nlog timestamp precision 3\ndebug bfd peer\n" } ?? ""
        return """
            frr defaults traditional
            hostname \(hostname)
            \(logging)bfd
             profile \(Self.frrBFDProfile)
              receive-interval \(Self.bfdIntervalMs)
              transmit-interval \(Self.bfdIntervalMs)
              detect-multiplier \(Self.bfdMultiplier)
             exit
            exit

            """
    }
}
