import Foundation
import SwitchyardCore
import SwitchyardDatapath
import Synchronization

/// `lab bench-sync`: how long a stateful flow takes to reach another LB node. Crafted
/// handshakes (SYN, then ACK) enter lb1 at a fixed rate from the client namespace; lb2's flow
/// table is read through its pin until each flow's entry appears. Latency = entry seen on lb2 −
/// SYN sent, on one monotonic clock: the whole path (lb1's datapath, its agent, the store, lb2's
/// agent, lb2's table), as an operator would see it. JSON keys are the lab's published interface;
/// Swift names map to them in `CodingKeys`.
public struct SyncBenchResult: Sendable, Codable, Equatable {
    public var store: String
    public var rate: Int
    public var flows: Int
    public var reached: Int
    /// Over the flows that reached lb2; nil (left out) when none did.
    public var p50Milliseconds: Double?
    public var p99Milliseconds: Double?
    public var maxMilliseconds: Double?
    public var storeBytesPerFlow: Double?
    /// The store spoke TLS (`--store-tls`).
    public var tls: Bool
    /// The rate the sender achieved: flows over the time from the first SYN to the last.
    public var sentPerSecond: Double
    /// lb1's (writer) and lb2's (reader) agent CPU time, user + system, over the run and until the
    /// last flow reached lb2 (or was given up), per 1,000 flows: milliseconds, by node.
    public var agentCPUMillisecondsPer1000Flows: [String: Double]

    enum CodingKeys: String, CodingKey {
        case store, rate, flows, reached, tls
        case sentPerSecond = "sent_per_s"
        case agentCPUMillisecondsPer1000Flows = "agent_cpu_ms_per_1000_flows"
        case p50Milliseconds = "p50_ms"
        case p99Milliseconds = "p99_ms"
        case maxMilliseconds = "max_ms"
        case storeBytesPerFlow = "store_bytes_per_flow"
    }

    public init(
        store: String, rate: Int, flows: Int, reached: Int, p50Milliseconds: Double?, p99Milliseconds: Double?,
        maxMilliseconds: Double?, storeBytesPerFlow: Double?, tls: Bool = false, sentPerSecond: Double = 0,
        agentCPUMillisecondsPer1000Flows: [String: Double] = [:]
    ) {
        self.store = store
        self.rate = rate
        self.flows = flows
        self.reached = reached
        self.p50Milliseconds = p50Milliseconds
        self.p99Milliseconds = p99Milliseconds
        self.maxMilliseconds = maxMilliseconds
        self.storeBytesPerFlow = storeBytesPerFlow
        self.tls = tls
        self.sentPerSecond = sentPerSecond
        self.agentCPUMillisecondsPer1000Flows = agentCPUMillisecondsPer1000Flows
    }
}

extension Lab {
    public func benchSync(rates: [Int], seconds: Double) throws -> [SyncBenchResult] {
        guard options.sharedStore else {
            throw NetworkNamespace.CommandError(
                description:
                    "bench-sync needs --mode stateful with a shared store (redis, redis-cluster, redis-sentinel)")
        }
        try setECMP([1])
        Thread.sleep(forTimeInterval: 0.5)
        let table = try PinnedFlowTable(pin: "\(dir)/bpffs/lb2/sy_flows")
        var results: [SyncBenchResult] = []
        for (run, rate) in rates.enumerated() {
            let count = Int(Double(rate) * seconds)
            let sender = SYNSender(
                destination: IPv4Address(Lab.vip4)!, port: UInt16(Lab.port), sourceBase: UInt8(40 + 20 * run))
            let probes = (0..<count).map { table.probe(sender.flowKey($0)) }
            let before = storeMemory()
            let cpuBefore = agentCPU()
            let shared = SendProgress(count: count)
            let ns = NetworkNamespace(existingName: client)
            let thread = Thread {
                do {
                    _ = try ns.inside {
                        try sender.send(count: count, rate: Double(rate), handshake: true) { i, at in
                            shared.sentAt[i] = at
                            shared.sent.store(i + 1, ordering: .releasing)
                        }
                    }
                } catch { shared.failure.withLock { $0 = "\(error)" } }
                shared.done.store(true, ordering: .releasing)
            }
            thread.start()
            let sentAt = shared.sentAt
            var latencies: [Double] = []
            latencies.reserveCapacity(count)
            var found = [Bool](repeating: false, count: count)
            var next = 0 // flows below `next` are all found or given up
            var deadline: UInt64 = .max
            while true {
                let sent = shared.sent.load(ordering: .acquiring)
                let now = SYNSender.monotonicNs()
                for i in next..<sent where !found[i] {
                    if table.backend(probes[i]) != nil {
                        found[i] = true
                        latencies.append(Double(now - sentAt[i]) / 1e6)
                    }
                }
                while next < sent && found[next] { next += 1 }
                if shared.done.load(ordering: .acquiring) {
                    if deadline == .max { deadline = now + 3_000_000_000 }
                    if latencies.count == sent || now > deadline { break }
                }
                usleep(200)
            }
            if let failure = shared.failure.withLock({ $0 }) {
                throw NetworkNamespace.CommandError(description: "bench-sync sender: \(failure)")
            }
            let cpuAfter = agentCPU()
            Thread.sleep(forTimeInterval: 0.5)
            let after = storeMemory()
            latencies.sort()
            func pct(_ p: Double) -> Double? {
                latencies.isEmpty
                    ? nil
                    : (latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] * 100).rounded() / 100
            }
            var perFlow: Double?
            if let before, let after, after.keys > before.keys {
                perFlow = (Double(after.bytes - before.bytes) / Double(after.keys - before.keys)).rounded()
            }
            let flows = shared.sent.load(ordering: .acquiring)
            var cpu: [String: Double] = [:]
            for (node, ticks) in cpuAfter where flows > 0 {
                let used = Double(ticks - (cpuBefore[node] ?? 0)) * 1000 / ProcessCPUTime.ticksPerSecond
                cpu[node] = (used / Double(flows) * 1000 * 100).rounded() / 100
            }
            let span = flows > 1 ? Double(sentAt[flows - 1] - sentAt[0]) / 1e9 : 0
            let result = SyncBenchResult(
                store: options.store.rawValue, rate: rate, flows: flows,
                reached: latencies.count, p50Milliseconds: pct(0.5),
                p99Milliseconds: pct(0.99), maxMilliseconds: pct(1),
                storeBytesPerFlow: perFlow, tls: options.storeTLS,
                sentPerSecond: span > 0 ? (Double(flows - 1) / span).rounded() : 0,
                agentCPUMillisecondsPer1000Flows: cpu)
            let cpuText = cpu.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            log(
                "bench-sync \(rate)/s (sent at \(result.sentPerSecond)/s): \(result.reached)/\(result.flows) "
                    + "reached lb2, p50 \(Self.ms(result.p50Milliseconds)), p99 \(Self.ms(result.p99Milliseconds)), "
                    + "max \(Self.ms(result.maxMilliseconds)); agent CPU ms per 1000 flows: \(cpuText)")
            results.append(result)
        }
        return results
    }

    /// What the sender thread shares with the poller: send times, published by `sent`.
    final class SendProgress: @unchecked Sendable {
        let sentAt: UnsafeMutableBufferPointer<UInt64>
        let sent = Atomic<Int>(0)
        let done = Atomic<Bool>(false)
        let failure = Mutex<String?>(nil)
        init(count: Int) {
            sentAt = .allocate(capacity: count)
            sentAt.initialize(repeating: 0)
        }
        deinit { sentAt.deallocate() }
    }

    /// A latency for people: "1.52 ms", or "n/a" when no flow reached lb2.
    public static func ms(_ value: Double?) -> String { value.map { String(format: "%.2f ms", $0) } ?? "n/a" }

    /// lb1's and lb2's agents' CPU time so far (user + system), in clock ticks, by node.
    func agentCPU() -> [String: Int] {
        var result: [String: Int] = [:]
        for i in [1, 2] {
            let ticks = pids(lb(i), matching: " agent ").compactMap { pid in
                (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)).flatMap {
                    ProcessCPUTime.ticks(stat: $0)
                }
            }
            if !ticks.isEmpty { result["lb\(i)"] = ticks.reduce(0, +) }
        }
        return result
    }
}
