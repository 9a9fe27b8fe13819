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

    public var summary: String {
        switch self {
        case .lbRemove: "lb2 leaves the ECMP group"
        case .lbAdd: "lb3 joins the ECMP group"
        case .backendAdd: "be4 is added to the service"
        case .backendDrain: "be1 is set to draining"
        case .backendFail: "be1's server is killed"
        case .agentRestart: "lb1's agent is killed (-9) and started again"
        case .lbAddBackendAdd: "be4 is added and lb3, which knows it, joins"
        }
    }
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
        let clients = try [(Lab.vip4, connections - connections / 2), (Lab.vip6, connections / 2)].map {
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
            try setBackends([1: .up, 2: .up, 3: .up, 4: .up])
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
                                    new_connections: newConnections, detect_s: detect, failures: [])
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
}
