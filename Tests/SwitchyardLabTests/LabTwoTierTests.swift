import Foundation
import SwitchyardCore
import SwitchyardDatapath
import Testing

@testable import SwitchyardLab

/// The two-tier topology's choices and the aggregation router's policy, without root.
struct LabTwoTierConfigTests {
    @Test func twoTierNeedsBGPAndBIRDAndSaysSo() throws {
        #expect(try LabTopology.parse("flat", routing: .static) == .flat)
        #expect(try LabTopology.parse("two-tier", routing: .bgp(router: .bird)) == .twoTier)
        #expect(throws: LabRoutingError("--topology two-tier aggregates BGP routes: add --routing bgp")) {
            try LabTopology.parse("two-tier", routing: .static)
        }
        #expect(throws: LabRoutingError.self) { try LabTopology.parse("two-tier", routing: .bgp(router: .frr)) }
        #expect(throws: LabRoutingError("--topology: expected flat or two-tier, got 'mesh'")) {
            try LabTopology.parse("mesh", routing: .static)
        }
    }

    /// One recursive static route per VIP, piped into the aggregates table only while reachable;
    /// only the two ranges go upstream, from that table (never the kernel's `master` tables).
    @Test func aggregationAnnouncesOneRangePerFamilyWhileAVIPIsAnnounced() {
        let lab = Lab(options: .init(routing: .bgp(router: .bird)), executable: "/bin/false")
        let text = LabBGPFabric(lbNodes: 3).birdAggregation(sources: lab.aggregateSources)
        #expect(text.contains("route 10.77.100.0/24 recursive 10.77.100.10;"))
        #expect(text.contains("route 10.77.100.0/24 recursive 10.77.100.20;"))
        #expect(text.contains("route fd77:100::/64 recursive fd77:100::10;"))
        #expect(text.components(separatedBy: "export filter only_reachable;").count == 4)
        #expect(text.components(separatedBy: "peer table aggregates4;").count == 3)
        #expect(text.contains("if dest = RTD_UNREACHABLE then reject;"))
        #expect(text.contains("ipv4 { table aggregates4; import none; export where net = 10.77.100.0/24; };"))
        #expect(text.contains("ipv6 { table aggregates6; import none; export where net = fd77:100::/64; };"))
        #expect(text.contains("neighbor 10.77.3.1 as 64900;") && text.contains("neighbor fd77:3::1 as 64900;"))
        let upstream = LabBGPFabric(lbNodes: 3).birdUpstreamConfiguration(logFile: "/tmp/x/upstream.log")
        #expect(upstream.contains("ipv4 { import where net = 10.77.100.0/24; export none; };"))
        #expect(upstream.contains("neighbor 10.77.3.2 as 65000;"))
    }
}

/// The client behind an upstream router that knows only the aggregates.
@Suite(.enabled(if: LabBGPProbe.available, LabBGPProbe.skipMessage), .serialized)
struct LabTwoTierTests {
    /// The double change, stateful, through upstream → aggregation → LB nodes; the upstream's
    /// table holds the two aggregates and nothing else (no VIP host route leaks upstream), and
    /// loses them when no node announces a VIP.
    @Test func lbAddWithBackendAddKeepsEveryConnectionThroughTheAggregates() throws {
        var options = Lab.Options(mode: .stateful, routing: .bgp(router: .bird))
        options.topology = .twoTier
        try LabBGPScenarioTests.withLab(options) { lab in
            #expect(try lab.upstreamRoutes() == [LabBGPFabric.vipRange4, LabBGPFabric.vipRange6])
            let r = try lab.run(.lbAddBackendAdd, connections: 100)
            #expect(r.established == 100)
            #expect(r.survived == r.established, "\(r.failures)")
            #expect(try lab.upstreamRoutes() == [LabBGPFabric.vipRange4, LabBGPFabric.vipRange6])
            for i in 1...lab.options.lbNodes { lab.killAgent(i) }
            let deadline = Date().addingTimeInterval(15)
            while try !lab.upstreamRoutes().isEmpty, Date() < deadline { usleep(100_000) }
            #expect(try lab.upstreamRoutes().isEmpty, "the aggregates go when no LB node announces a VIP")
        }
    }
}
