import DatapathModel
import Foundation
import SwitchyardControl
import SwitchyardCore
import SwitchyardDatapath
import Testing

@testable import SwitchyardLab

enum LabProbe {
    static let reason: String? = {
        if let bpf = Privileges.bpfUnavailableReason() { return bpf }
        if getuid() != 0 { return "network namespaces need root" }
        if !FileManager.default.isExecutableFile(atPath: executable) {
            return "no switchyard binary at \(executable); build first"
        }
        return nil
    }()
    static var available: Bool { reason == nil }
    static var skipMessage: Comment { Comment(rawValue: "skipped: \(reason ?? "")") }
    /// The `switchyard` executable built beside the test bundle.
    static let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("switchyard").path
}

/// End to end: real TCP connections through a lab of namespaces, agents and XDP, held through
/// each change. Root only; each test builds its own lab and removes it.
@Suite(.enabled(if: LabProbe.available, LabProbe.skipMessage), .serialized)
struct LabScenarioTests {
    static func run(
        _ scenario: Scenario, mode: ServiceMode = .stateless, store: FlowStoreSettings.Kind = .redis,
        connections: Int = 100, fill: Double? = nil, routing: LabRouting = .bgp(router: .bird)
    ) throws -> ScenarioResult {
        var options = Lab.Options(mode: mode, store: store, routing: routing)
        options.backgroundFill = fill
        let lab = Lab(options: options, executable: LabProbe.executable)
        defer {
            lab.down()
            #expect(NetworkNamespace.list(prefix: lab.prefix).isEmpty, "namespaces left behind")
            #expect(!FileManager.default.fileExists(atPath: lab.dir), "lab directory left behind")
        }
        try lab.up()
        return try lab.run(scenario, connections: connections)
    }

    @Test(arguments: [Scenario.lbRemove, .lbAdd, .backendAdd, .backendDrain, .agentRestart])
    func everyConnectionSurvives(_ scenario: Scenario) throws {
        let r = try Self.run(scenario)
        #expect(r.established == 100)
        #expect(r.survived == r.established, "\(r.failures)")
        if scenario == .backendDrain {
            #expect(
                r.newConnections?["be1"] == nil && (r.newConnections?.values.reduce(0, +) ?? 0) == 40,
                "new connections avoid the draining backend: \(r.newConnections ?? [:])")
        }
    }

    /// `--routing static`: the lab writes the router's ECMP route itself (no routing daemon).
    @Test func staticRoutingStillMovesTraffic() throws {
        let r = try Self.run(.lbAdd, routing: .static)
        #expect(r.established == 100)
        #expect(r.survived == r.established, "\(r.failures)")
        #expect(r.routing == nil || r.routing == "static")
    }

    @Test func backendFailLosesOnlyItsOwnConnections() throws {
        let r = try Self.run(.backendFail)
        #expect(r.expectedFailed > 0)
        #expect(r.survived == r.established - r.expectedFailed, "\(r.failures)")
        #expect(r.failedPerBackend.keys.allSatisfy { $0 == "be1" }, "\(r.failedPerBackend)")
        #expect(
            r.newConnections?["be1"] == nil && r.newConnections?["failed"] == nil,
            "once detected, new connections reach only live backends: \(r.newConnections ?? [:])")
        // fall 2 × interval 0.5 s: the first failing probe comes up to one interval after the
        // kill, so (fall + 1) × interval = 1.5 s (a release build on a quiet machine measures
        // 0.8–1.4 s). The tests run the debug build on two shared cores, where 2.9 s was seen:
        // this bound catches a broken health path, the README carries the measured figure.
        #expect((r.detectSeconds ?? 99) <= 4.0, "detected after \(r.detectSeconds ?? -1) s")
    }

    /// Stateless mode's gap, which stateful mode exists to close: when a new LB node joins with a
    /// backend set that changed, flows moved to it may land on a backend that never saw them.
    @Test func lbAddWithBackendAddBitesStatelessMode() throws {
        let r = try Self.run(.lbAddBackendAdd, connections: 200)
        #expect(r.established == 200)
        #expect(r.failed > 0, "the scenario must bite in stateless mode")
        #expect(
            r.failedPerBackend.isEmpty
                || r.failures.allSatisfy { $0.contains("reset") || $0.contains("closed") || $0.contains("silent") })
    }
}

/// The agent as an operator meets it, in a lab: a broken config file is refused and the running
/// one kept, metrics are served, a restarted agent re-uses the pinned maps.
@Suite(.enabled(if: LabProbe.available, LabProbe.skipMessage), .serialized)
struct AgentInLabTests {
    @Test func badReloadKeepsRunningConfigAndMetricsServe() throws {
        let lab = Lab(options: .init(), executable: LabProbe.executable)
        defer { lab.down() }
        try lab.up()
        let before = try lab.agentStatus(1)
        #expect(before.reloadsFailed == 0 && !before.reusedPinnedMaps, "a fresh agent on fresh maps: \(before)")
        let path = "\(lab.dir)/lb1.yaml"
        let good = try String(contentsOfFile: path, encoding: .utf8)
        try good.replacingOccurrences(of: "mtu: 1600", with: "mtu: 99999").write(
            toFile: path, atomically: true, encoding: .utf8)
        var status = before
        for _ in 0..<40 {
            Thread.sleep(forTimeInterval: 0.1)
            status = try lab.agentStatus(1)
            if status.reloadsFailed > before.reloadsFailed { break }
        }
        #expect(status.reloadsFailed == before.reloadsFailed + 1)
        // The running config is kept: no reload counted as applied, the same services and backends.
        #expect(status.reloadsOK == before.reloadsOK)
        #expect(Self.configured(status) == Self.configured(before), "\(Self.configured(status))")
        let log = try String(contentsOfFile: "\(lab.dir)/lb1.log", encoding: .utf8)
        #expect(log.contains("config rejected, running config kept") && log.contains("node.mtu"))
        // Still forwarding with the old config.
        let answers = try lab.http(Lab.vip4, count: 10)
        #expect(answers.perBackend["failed"] == nil && answers.perBackend.values.reduce(0, +) == 10, "\(answers)")
        // Metrics, from inside the LB node's namespace.
        let metrics = try lab.inNS(
            lab.lb(1),
            [
                "bash", "-c",
                "exec 3<>/dev/tcp/127.0.0.1/9400; printf 'GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3; cat <&3",
            ])
        #expect(metrics.contains("200 OK"))
        #expect(metrics.contains("switchyard_backend_packets_total{service=\"web\""))
        #expect(metrics.contains("switchyard_config_reloads_total{result=\"failed\"} 1"))
        // A broken file also stops a fresh agent from starting; with the good one back, a
        // restart re-uses the pinned maps.
        try good.write(toFile: path, atomically: true, encoding: .utf8)
        try lab.restartAgent(1)
        let after = try lab.agentStatus(1)
        #expect(after.reusedPinnedMaps, "the restarted agent found lb1's pinned maps")
        #expect(Self.configured(after) == Self.configured(before), "\(Self.configured(after))")
    }

    /// Service name → backend addresses and configured states, as an agent reports them.
    static func configured(_ status: AgentStatus) -> [String: [String]] {
        Dictionary(
            status.services.map { service in
                (service.name, service.backends.map { "\($0.address) \($0.configured)" }.sorted())
            }, uniquingKeysWith: { first, _ in first })
    }
}

extension AgentInLabTests {
    /// VIPs answer ping from the LB nodes' XDP program (no backend involved), IPv4 and IPv6.
    @Test func vipsAnswerPing() throws {
        let lab = Lab(options: .init(), executable: LabProbe.executable)
        defer { lab.down() }
        try lab.up()
        for vip in [Lab.vip4, Lab.vip6] {
            let result = try lab.ping(vip, count: 5)
            #expect(result.sent == 5 && result.received == 5, "\(vip): \(result)")
        }
        var replied = 0
        for i in 1...3 {
            replied += Int(try lab.agentStatus(i).events["icmp_echo_replied"] ?? 0)
        }
        #expect(replied == 10, "the LB nodes answered every request: \(replied)")
    }

    /// SIGTERM stops the agent, not the datapath: traffic keeps flowing with no agent at all.
    /// Static routes, so the router keeps sending to the LB nodes (with BGP the agents would
    /// drain and withdraw first: the route itself would go, by design).
    @Test func sigtermLeavesTheDatapathForwarding() throws {
        let lab = Lab(options: .init(routing: .static), executable: LabProbe.executable)
        defer { lab.down() }
        try lab.up()
        for i in 1...3 {
            for pid in lab.pids(lab.lb(i), matching: " agent ") { kill(pid, SIGTERM) }
        }
        for _ in 0..<100 where (1...3).contains(where: { !lab.pids(lab.lb($0), matching: " agent ").isEmpty }) {
            usleep(50_000)
        }
        #expect((1...3).allSatisfy { lab.pids(lab.lb($0), matching: " agent ").isEmpty }, "agents exited on SIGTERM")
        let log = try String(contentsOfFile: "\(lab.dir)/lb1.log", encoding: .utf8)
        #expect(log.contains("shutting down; the datapath stays attached and pinned"))
        let answers = try lab.http(Lab.vip4, count: 20)
        #expect(answers.perBackend.values.reduce(0, +) == 20)
        #expect(answers.perBackend["failed"] == nil, "forwarding without agents: \(answers)")
    }

    /// `switchyard backend --remove` undoes what setup did.
    @Test func backendRemoveUndoesSetup() throws {
        let lab = Lab(options: .init(), executable: LabProbe.executable)
        defer { lab.down() }
        try lab.up()
        let ns = lab.be(4)
        // tc shows the program's kernel name, cut at 15 characters: "switchyard_deca".
        #expect(try lab.inNS(ns, ["ip", "addr", "show", "dev", "lo"]).contains(Lab.vip4))
        #expect(try lab.inNS(ns, ["tc", "filter", "show", "dev", "eth0", "ingress"]).contains("switchyard_dec"))
        // An interface name with a dot (a VLAN's, say) gets its rp_filter turned off too.
        try lab.inNS(ns, ["ip", "link", "add", "vx.100", "type", "veth", "peer", "name", "vy.100"])
        try lab.inNS(ns, ["ip", "link", "set", "dev", "vx.100", "up"])
        try lab.inNS(ns, ["sysctl", "-qw", "net.ipv4.conf.vx/100.rp_filter=1"])
        try lab.inNS(ns, [LabProbe.executable, "backend", "--vip", Lab.vip4, "--interface", "vx.100"])
        #expect(
            try lab.inNS(ns, ["cat", "/proc/sys/net/ipv4/conf/vx.100/rp_filter"]).trimmingCharacters(
                in: .whitespacesAndNewlines) == "0")
        #expect(try lab.inNS(ns, ["tc", "filter", "show", "dev", "vx.100", "ingress"]).contains("switchyard_dec"))
        try lab.inNS(ns, [LabProbe.executable, "backend", "--vip", Lab.vip4, "--interface", "vx.100", "--remove"])
        try lab.inNS(ns, ["ip", "link", "del", "vx.100"])
        try lab.inNS(
            ns,
            [
                LabProbe.executable, "backend", "--vip", "\(Lab.vip4),\(Lab.vip6),\(Lab.benchVIP)", "--interface",
                "eth0", "--remove",
            ])
        #expect(try !lab.inNS(ns, ["ip", "addr", "show", "dev", "lo"]).contains(Lab.vip4))
        #expect(try !lab.inNS(ns, ["ip", "addr", "show", "dev", "lo"]).contains(Lab.vip6))
        #expect(try !lab.inNS(ns, ["tc", "filter", "show", "dev", "eth0", "ingress"]).contains("switchyard_dec"))
        #expect(try !lab.inNS(ns, ["ip", "rule", "show"]).contains("4242"))
    }
}

/// Stateful mode: flows shared through Redis keep connections on their backends through what
/// breaks stateless mode (the stateless run of the same scenario above must lose some).
@Suite(.enabled(if: LabProbe.available, LabProbe.skipMessage), .serialized)
struct StatefulScenarioTests {
    /// Issue 11's bar: with every LB node's table 90% full of live (busy) background flows, the
    /// double change still keeps every connection, and none of the background flows is pushed out.
    @Test func lbAddWithBackendAddKeepsEveryConnectionInNinetyPercentFullTables() throws {
        let r = try LabScenarioTests.run(.lbAddBackendAdd, mode: .stateful, connections: 200, fill: 0.9)
        #expect(r.established == 200)
        #expect(r.survived == r.established, "\(r.failures)")
        let fill = try #require(r.fill)
        #expect(fill.count == 3)
        for (node, f) in fill {
            #expect(f.filled.fraction >= 0.9, "\(node) filled to \(f.filled.fraction)")
            #expect(f.backgroundAfter == f.filled.written, "\(node): busy background flows were evicted")
        }
    }

    @Test(arguments: [
        Scenario.agentRestart, .backendFail, .lbRemove, .lbRemoveBackendAdd, .lbReboot, .storeRestart, .flood,
        .lbDrain, .agentStop, .lbLinkDown,
    ])
    func survivedIsEstablishedLessExpected(_ scenario: Scenario) throws {
        let r = try LabScenarioTests.run(scenario, mode: .stateful)
        #expect(
            r.established == (scenario == .storeRestart ? 140 : 100), "store-restart opens 40 more during the outage")
        #expect(r.survived == r.established - r.expectedFailed, "\(r.failures)")
        if scenario == .flood {
            let flood = try #require(r.flood, "the flood scenario reports its flood")
            #expect(flood.sent == 150_000)
            // The flood bit: the datapath refused entries to it (busy sets or the rate limit).
            #expect(flood.flowSetBusy + flood.insertRateLimited > 0, "\(flood)")
            #expect(flood.storeEvicted != nil, "the Redis store's evictions are reported")
        } else {
            #expect(r.flood == nil)
        }
    }

    /// The same double change breaks stateless mode, so the stateful run above proves something.
    @Test func lbRemoveWithBackendAddBitesStatelessMode() throws {
        let r = try LabScenarioTests.run(.lbRemoveBackendAdd, mode: .stateless, connections: 200)
        #expect(r.survived < r.established, "stateless mode lost nothing: the scenario does not bite")
    }

    /// The embedded store alone: lb1's maps and agent are wiped, be4 is added, and lb1 rebuilds
    /// its table from its own journal before it takes traffic again.
    @Test func lbRebootRecoversFromTheEmbeddedStore() throws {
        let r = try LabScenarioTests.run(.lbReboot, mode: .stateful, store: .embedded)
        #expect(r.established == 100)
        #expect(r.survived == r.established, "\(r.failures)")
    }
}

/// The crafted SYNs of the flood and bench-sync are valid on the wire: both checksums verify,
/// and the key the datapath will make is the one the bench looks for.
struct SYNSenderTests {
    @Test func packetsCarryValidChecksumsAndTheirFlowKey() {
        let sender = SYNSender(destination: IPv4Address(10, 77, 100, 10), port: 80, sourceBase: 40)
        for i in [0, 1, 255, 65_536, 123_457] {
            for ack in [false, true] {
                let p = sender.packet(i, ack: ack)
                #expect(InternetChecksum.ipv4Header(p, at: 0, length: 20) == 0)
                #expect(
                    InternetChecksum.transport(
                        p, at: 20, length: 20, proto: 6, source: .v4(sender.source(i)),
                        destination: .v4(sender.destination)) == 0)
                #expect(p[33] == (ack ? 0x10 : 0x02))
                let key = sender.flowKey(i)
                let source = IPv4Address(p[12], p[13], p[14], p[15])
                #expect(key.source == .v4(source) && source == sender.source(i))
                #expect(UInt16(p[20]) << 8 | UInt16(p[21]) == key.sourcePort)
            }
        }
    }
}
