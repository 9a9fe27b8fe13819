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
    case lbDrain = "lb-drain"
    case agentStop = "agent-stop"
    case lbLinkDown = "lb-link-down"
    case storeFailover = "store-failover"
    case storeReshard = "store-reshard"
    case storeShardDown = "store-shard-down"

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
        case .storeRestart:
            "the flow store is killed; connections opened during the outage; it restarts empty; then be4 "
                + "is added and lb3 joins"
        case .flood: "a flood of SYNs from spoofed sources while the connections talk; then be4 is added and lb3 joins"
        case .lbDrain: "lb1 is drained (`switchyard drain`): GRACEFUL_SHUTDOWN moves the router off it, then withdrawn"
        case .agentStop: "lb1's agent is stopped (SIGSTOP) until the router drops it, then continued (SIGCONT)"
        case .lbLinkDown: "lb1's fabric link is cut until the router drops it, then restored"
        case .storeFailover:
            "the store's primary (the cluster shard with most flows) is killed (-9) and its replica promoted; "
                + LabStoreProof.summary
        case .storeReshard: "2000 slots move from the busiest cluster primary to another; " + LabStoreProof.summary
        case .storeShardDown:
            "a cluster shard is lost (replica, then primary killed), forwarding goes on, its primary restarts "
                + "empty; " + LabStoreProof.summary
        }
    }

    /// Scenarios whose change only BGP routing can carry out (`--routing bgp`).
    public var needsBGP: Bool { [.lbDrain, .agentStop, .lbLinkDown].contains(self) }

    /// The stores a scenario acts on (nil: any, or none). store-restart restarts the one Redis
    /// server; the others act on a cluster's shards or on a Sentinel-managed primary.
    public var stores: Set<FlowStoreSettings.Kind>? {
        switch self {
        case .storeRestart: [.redis]
        case .storeFailover: [.redisCluster, .redisSentinel]
        case .storeReshard, .storeShardDown: [.redisCluster]
        default: nil
        }
    }
}

/// What `lab scenario --json` prints. The JSON keys are the lab's published interface (the README
/// lists them, scripts read them); Swift names map to them in `CodingKeys`.
public struct ScenarioResult: Sendable, Codable, Equatable {
    public var scenario: String
    public var mode: String
    public var established: Int
    public var survived: Int
    public var failed: Int
    public var expectedFailed: Int
    public var durationSeconds: Double
    public var perBackend: [String: Int]
    public var failedPerBackend: [String: Int]
    /// Where new connections went after the change (drain and fail scenarios).
    public var newConnections: [String: Int]?
    /// backend-fail: seconds from the kill until every agent had the backend out of its rings.
    public var detectSeconds: Double?
    /// flood: what the flood sent and what the datapath and the store did about it.
    public var flood: FloodReport?
    /// `--fill`: each LB node's table filled with background flows before the connections
    /// opened, and how many of those entries were still there after the change.
    public var fill: [String: TableFill]?
    /// Stateful: the store the LB nodes shared.
    public var store: String?
    /// BGP routing (`bgp/bird`, `bgp/frr`); nil for static routes.
    public var routing: String?
    /// lb-drain, agent-stop, lb-link-down: seconds from the change until the router's kernel
    /// route no longer listed the node.
    public var withdrawSeconds: Double?
    /// Kubernetes scenarios: connections to pods that exited during the change (ended by the
    /// exit, so counted in `expected_failed`), and how many of them were still answering just
    /// before their pod exited (a terminating pod keeps its connections until then).
    public var drained: Int?
    public var terminatingSurvived: Int?
    /// k8s-service-delete: the deleted Service's address went back to the pool (its status count).
    public var addressReleased: Bool?
    /// Store scenarios: the store event, timed, and the flow keys it hit.
    public var storeEvent: StoreEventReport?
    /// Store scenarios: each agent's flow-sync counters that grew over the event and the LB-node
    /// change after it (`FlowSharing` field names), by node.
    public var flowSync: [String: [String: Int]]?
    public var failures: [String]

    enum CodingKeys: String, CodingKey {
        case scenario, mode, established, survived, failed, store, flood, fill, failures, routing, drained
        case terminatingSurvived = "terminating_survived"
        case addressReleased = "address_released"
        case storeEvent = "store_event"
        case flowSync = "flow_sync"
        case withdrawSeconds = "withdraw_s"
        case expectedFailed = "expected_failed"
        case durationSeconds = "duration_s"
        case perBackend = "per_backend"
        case failedPerBackend = "failed_per_backend"
        case newConnections = "new_connections"
        case detectSeconds = "detect_s"
    }

    /// Adds one lab client's accounting.
    mutating func add(_ report: TrafficClient.Report) {
        established += report.established
        survived += report.survived
        failed += report.failed
        perBackend.merge(report.perBackend, uniquingKeysWith: +)
        failedPerBackend.merge(report.failedPerBackend, uniquingKeysWith: +)
        failures += report.failures
    }

    public init(scenario: String, mode: String, store: String? = nil) {
        self.scenario = scenario
        self.mode = mode
        self.store = store
        established = 0
        survived = 0
        failed = 0
        expectedFailed = 0
        durationSeconds = 0
        perBackend = [:]
        failedPerBackend = [:]
        failures = []
    }
}

/// The flood scenario's SYNs, and the datapath inserts refused and store entries evicted while
/// it ran (agent counters, differences over the flood).
public struct FloodReport: Sendable, Codable, Equatable, CustomStringConvertible {
    public var sent: Int
    public var insertRateLimited: Int
    public var flowSetBusy: Int
    public var insertFailed: Int
    /// Redis store only.
    public var storeEvicted: Int?

    enum CodingKeys: String, CodingKey {
        case sent
        case insertRateLimited = "insert_rate_limited"
        case flowSetBusy = "flow_set_busy"
        case insertFailed = "insert_failed"
        case storeEvicted = "store_evicted"
    }

    public var description: String {
        var parts = [
            "flow_set_busy \(flowSetBusy)", "insert_failed \(insertFailed)",
            "insert_rate_limited \(insertRateLimited)", "sent \(sent)",
        ]
        if let storeEvicted { parts.append("store_evicted \(storeEvicted)") }
        return parts.joined(separator: ", ")
    }
}

/// The lab client running inside the client namespace, driven over its stdin/stdout.
final class ClientProcess {
    let process = Process()
    private let input = Pipe(), output = Pipe()
    private var buffer = Data()

    init(lab: Lab, host: String, connections: Int) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "ip", "netns", "exec", lab.client, lab.executable, "lab-client",
            "--host", host, "--port", "\(Lab.port)", "--connections", "\(connections)",
        ]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
    }

    /// Ends the client: its report of every connection, once the process has exited.
    func stop() throws -> TrafficClient.Report {
        send("stop")
        guard case .result(let report) = try next() else {
            throw NetworkNamespace.CommandError(description: "lab client answered stop without its report")
        }
        process.waitUntilExit()
        return report
    }

    func send(_ line: String) { input.fileHandleForWriting.write(Data((line + "\n").utf8)) }

    /// The next event the client prints (one JSON line each).
    func next() throws -> LabClientEvent {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                let line = buffer[..<newline]
                buffer = Data(buffer[buffer.index(after: newline)...])
                return try JSONDecoder().decode(LabClientEvent.self, from: line)
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
        try checkCanRun(scenario)
        try checkStoreCanRun(scenario)
        let started = Date()
        var fill = try options.backgroundFill.map { try fillTables(fraction: $0) }
        var clients = try [(Lab.vip4, connections - connections / 2), (Lab.vip6, connections / 2)].map {
            try ClientProcess(lab: self, host: $0.0, connections: $0.1)
        }
        defer { for c in clients where c.process.isRunning { c.process.terminate() } }
        var established: [String: Int] = [:]
        for c in clients {
            let event = try c.next()
            for (k, v) in event.perBackend ?? [:] { established[k, default: 0] += v }
        }
        log(
            "\(scenario.rawValue): \(established.values.reduce(0, +)) connections established "
                + "\(established.sorted { $0.key < $1.key })"
        )
        Thread.sleep(forTimeInterval: 1)

        var expectedFailedBackends: Set<String> = []
        var detect: Double?
        var newConnections: [String: Int]?
        var flood: FloodReport?
        var withdraw: Double?
        var storeEvent: StoreEventReport?
        let syncBefore = scenario.stores == nil ? nil : flowSyncCounters()
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
            _ = try waitForHealth(backend: "10.77.2.21", state: .down, lbs: Array(1...options.lbNodes))
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
            let opened = (event.perBackend ?? [:]).values.reduce(0, +)
            log("store-restart: \(opened) connections opened while the store is down")
            clients.append(during)
            try startRedisServer(port: Self.redisPort)
            // The agents' retries back off up to 1.6 s after a 2 s outage.
            Thread.sleep(forTimeInterval: 4)
            try setBackends(everyBackend)
            try setECMP([1, 2, 3])
        case .flood:
            Thread.sleep(forTimeInterval: 2.5) // the talking connections are refreshed (every 2 s)
            flood = try runFlood(rate: 30000, seconds: 5)
            try setBackends(everyBackend)
            try setECMP([1, 2, 3])
        case .lbDrain: withdraw = try drainMidTraffic(1)
        case .agentStop: withdraw = try stopAgentMidTraffic(1)
        case .lbLinkDown: withdraw = try cutLinkMidTraffic(1)
        case .storeFailover, .storeReshard, .storeShardDown:
            var report =
                switch scenario {
                case .storeFailover: try failStorePrimary()
                case .storeReshard: try reshardStore()
                default: try loseShard(probe: clients[0])
                }
            report.rebuiltEntries = try moveFlowsToStoreRebuiltNode()
            storeEvent = report
        }
        Thread.sleep(forTimeInterval: 3)
        if scenario == .backendFail || scenario == .backendDrain {
            // Health checks (fall 2 × 0.5 s) or the reload have had their time: where do new
            // connections go now?
            clients[0].send("probe 40")
            newConnections = try clients[0].next().perBackend
        }
        var result = ScenarioResult(
            scenario: scenario.rawValue, mode: options.mode.rawValue,
            store: options.mode == .stateful ? options.store.rawValue : nil)
        result.newConnections = newConnections
        result.detectSeconds = detect
        result.flood = flood
        result.withdrawSeconds = withdraw
        result.storeEvent = storeEvent
        result.flowSync = syncBefore.map { Self.flowSyncGrowth(before: $0, after: flowSyncCounters()) }
        if options.routing != .static { result.routing = "\(options.routing)" }
        for node in fill?.keys.sorted() ?? [] {
            fill?[node]?.backgroundAfter = try BackgroundFlowFill.census(pin: "\(dir)/bpffs/\(node)/sy_flows")
                .background
        }
        result.fill = fill
        for c in clients { result.add(try c.stop()) }
        result.expectedFailed = expectedFailedBackends.reduce(0) { $0 + (result.perBackend[$1] ?? 0) }
        result.durationSeconds = (Date().timeIntervalSince(started) * 10).rounded() / 10
        log(
            "\(scenario.rawValue): \(result.survived)/\(result.established) survived, \(result.failed) failed "
                + "(\(result.expectedFailed) expected)" + (withdraw.map { "; router dropped lb1 after \($0) s" } ?? ""))
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
    func runFlood(rate: Int, seconds: Int) throws -> FloodReport {
        func events() -> [String: UInt64] {
            var total: [String: UInt64] = [:]
            for i in 1...options.lbNodes {
                guard let status = try? agentStatus(i) else { continue }
                total.merge(status.events, uniquingKeysWith: +)
            }
            return total
        }
        func grew(_ name: String, _ before: [String: UInt64], _ after: [String: UInt64]) -> Int {
            let (now, then) = (after[name] ?? 0, before[name] ?? 0)
            return now >= then ? Int(clamping: now - then) : -Int(clamping: then - now)
        }
        let before = events()
        let output = try inNS(
            client,
            [
                executable, "lab-flood", "--vip", Lab.vip4, "--port", "\(Lab.port)",
                "--rate", "\(rate)", "--count", "\(rate * seconds)",
            ])
        let sent = try JSONDecoder().decode(FloodSent.self, from: Data(output.utf8)).sent
        Thread.sleep(forTimeInterval: 1)
        let after = events()
        let report = FloodReport(
            sent: sent, insertRateLimited: grew("insert_rate_limited", before, after),
            flowSetBusy: grew("flow_set_busy", before, after),
            insertFailed: grew("insert_failed", before, after),
            storeEvicted: options.sharedStore ? storeInfoSum("stats", "evicted_keys") ?? 0 : nil)
        log("flood: \(report)")
        return report
    }
}

/// One LB node's table under `--fill`.
public struct TableFill: Codable, Sendable, Hashable {
    /// The fill as written: capacity, occupancy before and after, entries written or refused.
    public var filled: BackgroundFlowFill.Result
    /// Background entries still in the table after the scenario's change.
    public var backgroundAfter: Int

    enum CodingKeys: String, CodingKey {
        case filled
        case backgroundAfter = "background_after"
    }
}

extension Lab {
    /// Fills every LB node's table to `fraction` of its configured capacity (see
    /// `BackgroundFlowFill`); the background entries point at no real service.
    func fillTables(fraction: Double) throws -> [String: TableFill] {
        var result: [String: TableFill] = [:]
        let now = try BackgroundFlowFill.currentJiffies()
        for i in 1...options.lbNodes {
            let filled = try BackgroundFlowFill.fill(
                pin: "\(dir)/bpffs/lb\(i)/sy_flows", capacity: options.flowTableCapacity, fraction: fraction,
                destination: IPAddress(Lab.vip4) ?? .v4(IPv4Address(0)), now: now, seed: UInt64(i))
            log(
                "lb\(i): table filled to \(Int((filled.fraction * 100).rounded()))% of \(filled.capacity) "
                    + "(\(filled.written) background flows, \(filled.busy) refused by full sets)")
            result["lb\(i)"] = TableFill(filled: filled, backgroundAfter: filled.written)
        }
        return result
    }
}

/// What `lab-flood` prints: the SYNs it sent.
public struct FloodSent: Codable, Sendable {
    public var sent: Int
    public init(sent: Int) { self.sent = sent }
}
