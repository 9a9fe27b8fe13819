import Foundation
import SwitchyardCore
import SwitchyardDatapath

/// A change made under load, and every connection accounted for.
public enum Scenario: String, CaseIterable, Sendable {
    case lbRemove = "lb-remove"
    case lbAdd = "lb-add"
    case backendAdd = "backend-add"
    case backendDrain = "backend-drain"
    case backendFail = "backend-fail"
    case agentRestart = "agent-restart"
    case lbAddBackendAdd = "lb-add+backend-add"
    case lbRemoveBackendAdd = "lb-remove+backend-add"
    case lbReboot = "lb-reboot"
    case storeRestart = "store-restart"
    case flood = "flood"

    public var summary: String {
        switch self {
        case .lbRemove: "lb2 leaves the ECMP group"
        case .lbAdd: "lb3 joins the ECMP group"
        case .backendAdd: "be4 is added to the service"
        case .backendDrain: "be1 is set to draining"
        case .backendFail: "be1's server is killed"
        case .agentRestart: "lb1's agent is killed (-9) and started again"
        case .lbAddBackendAdd: "be4 is added and lb3, which knows it, joins"
        case .lbRemoveBackendAdd: "be4 is added and lb2 leaves at once"
        case .lbReboot: "lb1 leaves, its agent and maps are wiped, be4 is added, lb1 starts afresh and rejoins"
        case .storeRestart: "the flow store is killed; connections opened during the outage; it restarts empty; then be4 is added and lb3 joins"
        case .flood: "a flood of SYNs from spoofed sources while the connections talk; then be4 is added and lb3 joins"
        }
    }

    /// Scenarios that need the flow store (Redis) to mean anything.
    public var needsRedis: Bool { self == .storeRestart }
}

public struct ScenarioResult: Sendable, Codable {
    public var scenario: String
    public var mode: String
    public var established: Int
    public var survived: Int
    public var failed: Int
    public var expected_failed: Int
    public var duration_s: Double
    public var per_backend: [String: Int]
    public var failed_per_backend: [String: Int]
    /// Where new connections went after the change (drain and fail scenarios).
    public var new_connections: [String: Int]?
    /// backend-fail: seconds from the kill until every agent had the backend out of its rings.
    public var detect_s: Double?
    /// flood: SYNs sent, datapath inserts refused (rate limit, busy sets) and store evictions.
    public var flood: [String: Int]?
    /// Stateful: the store the LB nodes shared.
    public var store: String?
    public var failures: [String]
}

/// The lab client running inside the client namespace, driven over its stdin/stdout.
final class ClientProcess {
    let process = Process()
    private let input = Pipe(), output = Pipe()
    private var buffer = Data()

    init(lab: Lab, host: String, connections: Int) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", lab.client, lab.executable, "lab-client",
                             "--host", host, "--port", "\(Lab.port)", "--connections", "\(connections)"]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
    }

    func send(_ line: String) { input.fileHandleForWriting.write(Data((line + "\n").utf8)) }

    /// The next JSON line the client prints.
    func next() throws -> [String: Any] {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                let line = buffer[..<newline]
                buffer = Data(buffer[buffer.index(after: newline)...])
                if let object = try JSONSerialization.jsonObject(with: line) as? [String: Any] { return object }
                continue
            }
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw NetworkNamespace.CommandError(description: "lab client exited early") }
            buffer.append(chunk)
        }
    }
}

extension Lab {
    /// Holds `connections` connections (half to each VIP), makes the change, keeps talking, then
    /// checks every connection.
    public func run(_ scenario: Scenario, connections: Int) throws -> ScenarioResult {
        let started = Date()
        var clients = try [(Lab.vip4, connections - connections / 2), (Lab.vip6, connections / 2)].map {
            try ClientProcess(lab: self, host: $0.0, connections: $0.1)
        }
        defer { for c in clients where c.process.isRunning { c.process.terminate() } }
        var established: [String: Int] = [:]
        for c in clients {
            let event = try c.next()
            for (k, v) in event["per_backend"] as? [String: Int] ?? [:] { established[k, default: 0] += v }
        }
        log("\(scenario.rawValue): \(established.values.reduce(0, +)) connections established \(established.sorted { $0.key < $1.key })")
        Thread.sleep(forTimeInterval: 1)

        var expectedFailedBackends: Set<String> = []
        var detect: Double?
        var newConnections: [String: Int]?
        var flood: [String: Int]?
        let everyBackend: [Int: BackendState] = [1: .up, 2: .up, 3: .up, 4: .up]
        log("\(scenario.rawValue): \(scenario.summary)")
        switch scenario {
        case .lbRemove: try setECMP([1])
        case .lbAdd: try setECMP([1, 2, 3])
        case .backendAdd: try setBackends([1: .up, 2: .up, 3: .up, 4: .up])
        case .backendDrain: try setBackends([1: .draining, 2: .up, 3: .up])
        case .backendFail:
            let killed = Date()
            try killServer(1)
            expectedFailedBackends = ["be1"]
            _ = try waitForHealth(backend: "10.77.2.21", state: "down", lbs: Array(1...options.lbNodes))
            detect = detectionTime(backend: "10.77.2.21:80", since: killed)
        case .agentRestart: try restartAgent(1)
        case .lbAddBackendAdd:
            // Both changes inside one window: the agents take be4, then lb3 joins with it in its
            // rings. Flows ECMP moves to lb3 find no entry there and Maglev now spreads over four
            // backends: some land on a backend that never saw them (stateless mode's gap).
            try setBackends(everyBackend)
            try setECMP([1, 2, 3])
        case .lbRemoveBackendAdd:
            try setBackends(everyBackend)
            try setECMP(ecmp.filter { $0 != 2 })
        case .lbReboot:
            // Out of ECMP first (as an operator drains a node for a reboot), unless it is the only one.
            let before = ecmp
            if before.count > 1 { try setECMP(before.filter { $0 != 1 }) }
            try wipe(1)
            try setBackends(everyBackend, lbs: Array(2...options.lbNodes))
            try startAgent(1)
            try waitForAgent(1)
            try setECMP(before)
        case .storeRestart:
            killRedis()
            Thread.sleep(forTimeInterval: 1)
            let during = try ClientProcess(lab: self, host: Lab.vip4, connections: 40)
            let event = try during.next()
            log("store-restart: \((event["per_backend"] as? [String: Int] ?? [:]).values.reduce(0, +)) connections opened while the store is down")
            clients.append(during)
            try startRedis()
            // The agents' retries back off up to 1.6 s after a 2 s outage.
            Thread.sleep(forTimeInterval: 4)
            try setBackends(everyBackend)
            try setECMP([1, 2, 3])
        case .flood:
            Thread.sleep(forTimeInterval: 2.5) // the talking connections are refreshed (every 2 s)
            flood = try runFlood(rate: 30000, seconds: 5)
            try setBackends(everyBackend)
            try setECMP([1, 2, 3])
        }
        Thread.sleep(forTimeInterval: 3)
        if scenario == .backendFail || scenario == .backendDrain {
            // Health checks (fall 2 × 0.5 s) or the reload have had their time: where do new
            // connections go now?
            clients[0].send("probe 40")
            newConnections = try clients[0].next()["per_backend"] as? [String: Int]
        }
        var result = ScenarioResult(scenario: scenario.rawValue, mode: options.mode.rawValue, established: 0, survived: 0,
                                    failed: 0, expected_failed: 0, duration_s: 0, per_backend: [:], failed_per_backend: [:],
                                    new_connections: newConnections, detect_s: detect, flood: flood,
                                    store: options.mode == .stateful ? options.store.rawValue : nil, failures: [])
        for c in clients {
            c.send("stop")
            let report = try c.next()
            result.established += report["established"] as? Int ?? 0
            result.survived += report["survived"] as? Int ?? 0
            result.failed += report["failed"] as? Int ?? 0
            for (k, v) in report["perBackend"] as? [String: Int] ?? [:] { result.per_backend[k, default: 0] += v }
            for (k, v) in report["failedPerBackend"] as? [String: Int] ?? [:] { result.failed_per_backend[k, default: 0] += v }
            result.failures += report["failures"] as? [String] ?? []
            c.process.waitUntilExit()
        }
        result.expected_failed = expectedFailedBackends.reduce(0) { $0 + (result.per_backend[$1] ?? 0) }
        result.duration_s = (Date().timeIntervalSince(started) * 10).rounded() / 10
        log("\(scenario.rawValue): \(result.survived)/\(result.established) survived, \(result.failed) failed (\(result.expected_failed) expected)")
        return result
    }

    /// A reboot of LB node i as the datapath sees it: agent killed, XDP detached, pinned maps
    /// (bpffs does not survive a reboot) removed. Its state directory, on disk, stays.
    func wipe(_ i: Int) throws {
        killAgent(i)
        _ = try? inNS(lb(i), ["ip", "link", "set", "dev", "eth0", "xdpgeneric", "off"])
        _ = try? inNS(lb(i), ["ip", "link", "set", "dev", "eth0", "xdpdrv", "off"])
        try? FileManager.default.removeItem(atPath: "\(dir)/bpffs/lb\(i)")
        log("lb\(i) wiped: agent killed, XDP detached, pinned maps removed")
    }

    /// SYNs from spoofed sources at `rate`/s for `seconds`, from the client namespace; then what
    /// the datapath and the store did about them.
    func runFlood(rate: Int, seconds: Int) throws -> [String: Int] {
        func events() -> [String: Int] {
            var total: [String: Int] = [:]
            for i in 1...options.lbNodes {
                guard let data = agentStatus(i), let status = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                      let events = status["events"] as? [String: Any] else { continue }
                for (k, v) in events { total[k, default: 0] += (v as? Int) ?? 0 }
            }
            return total
        }
        let before = events()
        let output = try inNS(client, [executable, "lab-flood", "--vip", Lab.vip4, "--port", "\(Lab.port)",
                                       "--rate", "\(rate)", "--count", "\(rate * seconds)"])
        let sent = (try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])?["sent"] as? Int ?? 0
        Thread.sleep(forTimeInterval: 1)
        let after = events()
        var report = ["sent": sent]
        for name in ["insert_rate_limited", "flow_set_busy", "insert_failed"] {
            report[name] = (after[name] ?? 0) - (before[name] ?? 0)
        }
        if options.redis { report["store_evicted"] = redisInfo("stats", "evicted_keys") ?? 0 }
        log("flood: \(report.sorted { $0.key < $1.key })")
        return report
    }
}
