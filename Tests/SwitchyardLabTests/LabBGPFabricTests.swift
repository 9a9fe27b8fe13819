import SwitchyardConfig
import SwitchyardCore
import SwitchyardDatapath
import Testing

@testable import SwitchyardLab

/// What the BGP lab configures, checked without root: the CLI's routing choice, the agents'
/// `node.bgp` as the agent's own loader reads it, and the routers' policies.
struct LabBGPFabricTests {
    @Test func routingFlagsParseOrSayWhatToChange() throws {
        #expect(try LabRouting.parse(routing: "static", router: nil) == .static)
        #expect(try LabRouting.parse(routing: "bgp", router: nil) == .bgp(router: .bird))
        #expect(try LabRouting.parse(routing: "bgp", router: "frr") == .bgp(router: .frr))
        #expect(throws: LabRoutingError("--router frr needs --routing bgp")) {
            try LabRouting.parse(routing: "static", router: "frr")
        }
        #expect(throws: LabRoutingError("--router: expected bird or frr, got 'quagga'")) {
            try LabRouting.parse(routing: "bgp", router: "quagga")
        }
        #expect(throws: LabRoutingError("--routing: expected static or bgp, got 'ospf'")) {
            try LabRouting.parse(routing: "ospf", router: nil)
        }
    }

    /// A scenario that needs BGP refuses a static lab (or one with lb1 alone in ECMP) before it
    /// opens a connection, saying what to change.
    @Test(arguments: [Scenario.lbDrain, .agentStop, .lbLinkDown])
    func bgpScenariosRefuseWhatCannotRunThem(_ scenario: Scenario) {
        #expect(scenario.needsBGP)
        let plain = Lab(options: .init(routing: .static), executable: "/bin/false")
        let staticError = #expect(throws: NetworkNamespace.CommandError.self) { try plain.checkCanRun(scenario) }
        #expect(staticError?.description.contains("--routing bgp") == true)
        let embedded = Lab(
            options: .init(mode: .stateful, store: .embedded, routing: .bgp(router: .bird)), executable: "/bin/false")
        let embeddedError = #expect(throws: NetworkNamespace.CommandError.self) { try embedded.checkCanRun(scenario) }
        #expect(embeddedError?.description.contains("--store redis") == true)
        let fine = Lab(options: .init(routing: .bgp(router: .frr)), executable: "/bin/false")
        #expect(throws: Never.self) { try fine.checkCanRun(scenario) }
        #expect(!Scenario.lbRemove.needsBGP)
    }

    /// lb2's config in a BGP lab loads, and its `node.bgp` peers with the router over both
    /// families from lb2's own addresses, with the lab's timers and BFD.
    @Test func agentConfigPeersWithTheRouter() throws {
        let lab = Lab(options: .init(routing: .bgp(router: .bird)), executable: "/bin/false")
        let config = try ConfigLoader.parse(yaml: lab.config(2), file: "lb2.yaml").get()
        let bgp = try #require(config.node.bgp)
        #expect(bgp.asn == 65102)
        #expect(bgp.holdSeconds == 3)
        #expect(bgp.drainSeconds == LabBGPFabric.drainSeconds)
        #expect(bgp.routerID == IPv4Address(10, 77, 2, 12))
        #expect(bgp.peers.map { "\($0.address)" } == ["10.77.2.1", "fd77:2::1"])
        #expect(bgp.peers.map { $0.sourceAddress.map { "\($0)" } } == ["10.77.2.12", "fd77:2::12"])
        #expect(bgp.peers.map(\.families) == [[.ipv4], [.ipv6]])
        #expect(bgp.peers.allSatisfy { $0.asn == 65000 })
        #expect(bgp.peers.allSatisfy { $0.bfd == BFDSettings(intervalMs: 300, multiplier: 3) })
        // Static routing: no BGP at all.
        let plain = Lab(options: .init(routing: .static), executable: "/bin/false")
        #expect(try ConfigLoader.parse(yaml: plain.config(2), file: "lb2.yaml").get().node.bgp == nil)
    }

    @Test func birdTakesOnlyHostRoutesFromTheVIPRangesAndHonoursGracefulShutdown() {
        let text = LabBGPFabric(lbNodes: 3).birdConfiguration(logFile: "/tmp/x/bird.log")
        for node in 1...3 {
            #expect(text.contains("protocol bgp lb\(node)v4 {"))
            #expect(text.contains("protocol bgp lb\(node)v6 {"))
            #expect(text.contains("neighbor 10.77.2.\(10 + node) as \(65100 + node);"))
            #expect(text.contains("neighbor fd77:2::\(10 + node) as \(65100 + node);"))
        }
        #expect(text.contains("if net ~ [ 10.77.100.0/24{32,32} ] then accept;"))
        #expect(text.contains("if net ~ [ fd77:100::/64{128,128} ] then accept;"))
        #expect(text.components(separatedBy: "if (65535, 0) ~ bgp_community then bgp_local_pref = 0;").count == 3)
        #expect(text.components(separatedBy: "merge paths on;").count == 3)
        #expect(text.components(separatedBy: "bfd on;").count == 7)
        #expect(text.contains("min rx interval 300 ms;") && text.contains("multiplier 3;"))
        #expect(text.components(separatedBy: "hold time 3;").count == 7)
        #expect(text.components(separatedBy: "export none;").count == 7, "the router announces nothing back")
    }

    @Test func frrTakesOnlyHostRoutesFromTheVIPRangesWithMultipathAndBFD() {
        let fabric = LabBGPFabric(lbNodes: 2)
        let bgp = fabric.frrBGPConfiguration(hostname: "r")
        #expect(bgp.contains("ip prefix-list VIPS4 seq 5 permit 10.77.100.0/24 ge 32"))
        #expect(bgp.contains("ipv6 prefix-list VIPS6 seq 5 permit fd77:100::/64 ge 128"))
        #expect(bgp.contains("bgp bestpath as-path multipath-relax"))
        #expect(bgp.components(separatedBy: "maximum-paths 16").count == 3)
        for node in 1...2 {
            for address in ["10.77.2.\(10 + node)", "fd77:2::\(10 + node)"] {
                #expect(bgp.contains(" neighbor \(address) remote-as \(65100 + node)\n"))
                #expect(bgp.contains(" neighbor \(address) passive\n"))
                #expect(bgp.contains(" neighbor \(address) timers 1 3\n"))
                #expect(bgp.contains(" neighbor \(address) bfd profile lab\n"))
            }
            #expect(bgp.contains("  neighbor 10.77.2.\(10 + node) route-map VIP4 in\n"))
            #expect(bgp.contains("  neighbor fd77:2::\(10 + node) route-map VIP6 in\n"))
        }
        let bfd = fabric.frrBFDConfiguration(hostname: "r")
        #expect(bfd.contains(" profile lab\n  receive-interval 300\n  transmit-interval 300\n  detect-multiplier 3\n"))
    }
}
