import Foundation
import SwitchyardCore
import SwitchyardDatapath
import Testing

@testable import SwitchyardLab

enum LabBGPProbe {
    static let binaries = [
        "/usr/sbin/bird", "/usr/sbin/birdc", "/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "/usr/lib/frr/bfdd",
        "/usr/bin/vtysh",
    ]
    static let reason: String? = {
        if let lab = LabProbe.reason { return lab }
        let absent = binaries.filter { !FileManager.default.isExecutableFile(atPath: $0) }
        return absent.isEmpty ? nil : "router binaries missing: \(absent.joined(separator: ", "))"
    }()
    static var available: Bool { reason == nil }
    static var skipMessage: Comment { Comment(rawValue: "skipped: \(reason ?? "")") }
}

/// The lab routed by BGP: the router (BIRD or FRR) learns the ECMP group from the agents, and
/// the lab only drains and undrains nodes. Each test builds its own lab and removes it,
/// router daemons included.
@Suite(.enabled(if: LabBGPProbe.available, LabBGPProbe.skipMessage), .serialized)
struct LabBGPScenarioTests {
    static func withLab<T>(_ options: Lab.Options, _ body: (Lab) throws -> T) throws -> T {
        let lab = Lab(options: options, executable: LabProbe.executable)
        defer {
            lab.down()
            #expect(NetworkNamespace.list(prefix: lab.prefix).isEmpty, "namespaces left behind")
            #expect(!FileManager.default.fileExists(atPath: lab.dir), "lab directory left behind")
            #expect(Self.routerDaemons(of: lab).isEmpty, "router daemons left running")
        }
        try lab.up()
        return try body(lab)
    }

    /// Processes anywhere on the machine whose command line names this lab's router directory.
    static func routerDaemons(of lab: Lab) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> String? in
            guard Int32(entry) != nil else { return nil }
            let raw = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(entry)/cmdline"))) ?? Data()
            let command = String(decoding: raw.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return command.contains(lab.routerDirectory) ? command : nil
        }
    }

    /// Every announcing node is in the router's kernel route for every VIP, IPv4 and IPv6, put
    /// there by the routing daemon; a drain takes one node out and `--cancel` brings it back.
    @Test(arguments: LabRouter.allCases)
    func routerRoutesOverEveryAnnouncingNode(_ router: LabRouter) throws {
        var options = Lab.Options(routing: .bgp(router: router))
        options.ecmp = [1, 2, 3]
        try Self.withLab(options) { lab in
            for (vip, v6) in Lab.announcedVIPs {
                #expect(try lab.routerNextHops(vip) == lab.expectedNextHops([1, 2, 3], v6: v6), "\(vip)")
                let route = try lab.sh(["ip", "-n", lab.router, v6 ? "-6" : "-4", "route", "show", vip])
                let proto = router == .bird ? "proto bird" : "proto bgp"
                #expect(route.contains(proto), "installed by \(router), not the lab: \(route)")
            }
            try lab.setECMP([1, 3])
            #expect(try lab.routerNextHops(Lab.vip6) == lab.expectedNextHops([1, 3], v6: true))
            #expect(lab.drained == [2])
            try lab.setECMP([1, 2, 3])
            #expect(try lab.routerNextHops(Lab.vip4) == lab.expectedNextHops([1, 2, 3], v6: false))
        }
    }

    /// A planned removal: GRACEFUL_SHUTDOWN takes lb1 out of the router's ECMP set well before
    /// the drain period ends and its VIPs are withdrawn; no connection notices.
    @Test func lbDrainKeepsEveryConnectionStateful() throws {
        let r = try Self.withLab(.init(mode: .stateful, routing: .bgp(router: .bird))) {
            try $0.run(.lbDrain, connections: 100)
        }
        #expect(r.established == 100)
        #expect(r.expectedFailed == 0)
        #expect(r.survived == r.established, "\(r.failures)")
        let withdraw = try #require(r.withdrawSeconds, "lb-drain reports withdraw_s")
        #expect(withdraw < LabBGPFabric.drainSeconds, "GRACEFUL_SHUTDOWN moved traffic before the withdrawal")
    }

    /// lb1 leaves an FRR router by each way BGP routing adds — drain, hung agent, cut link — and
    /// comes back; stateless mode keeps every connection too, as the backend set is unchanged.
    @Test(arguments: [Scenario.lbDrain, .agentStop, .lbLinkDown])
    func lb1LeavesFRRAndNoConnectionNotices(_ scenario: Scenario) throws {
        let r = try Self.withLab(.init(mode: .stateless, routing: .bgp(router: .frr))) {
            try $0.run(scenario, connections: 100)
        }
        #expect(r.established == 100)
        #expect(r.survived == r.established - r.expectedFailed, "\(r.failures)")
        let withdraw = try #require(r.withdrawSeconds, "\(scenario.rawValue) reports withdraw_s")
        // Drain: GRACEFUL_SHUTDOWN, well inside the drain period. A stopped agent or a cut link:
        // BFD in the agent at 300 ms × 3 (detection ≤ 0.9 s), well before the 3 s hold timer;
        // the bound leaves room for the lab's polling of the router's table.
        let bound = scenario == .lbDrain ? LabBGPFabric.drainSeconds : 1.5
        #expect(withdraw <= bound, "the router dropped lb1 after \(withdraw) s")
    }
}
