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
    public var p50Milliseconds: Double
    public var p99Milliseconds: Double
    public var maxMilliseconds: Double
    public var storeBytesPerFlow: Double?

    enum CodingKeys: String, CodingKey {
        case store, rate, flows, reached
        case p50Milliseconds = "p50_ms"
        case p99Milliseconds = "p99_ms"
        case maxMilliseconds = "max_ms"
        case storeBytesPerFlow = "store_bytes_per_flow"
    }

    public init(
        store: String, rate: Int, flows: Int, reached: Int, p50Milliseconds: Double, p99Milliseconds: Double,
        maxMilliseconds: Double, storeBytesPerFlow: Double?
    ) {
        self.store = store
        self.rate = rate
        self.flows = flows
        self.reached = reached
        self.p50Milliseconds = p50Milliseconds
        self.p99Milliseconds = p99Milliseconds
        self.maxMilliseconds = maxMilliseconds
        self.storeBytesPerFlow = storeBytesPerFlow
    }
}

extension Lab {
    public func benchSync(rates: [Int], seconds: Double) throws -> [SyncBenchResult] {
        guard options.redis else {
            throw NetworkNamespace.CommandError(description: "bench-sync needs --mode stateful with the Redis store")
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
            let before = redisMemory()
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
            Thread.sleep(forTimeInterval: 0.5)
            let after = redisMemory()
            latencies.sort()
            func pct(_ p: Double) -> Double {
                latencies.isEmpty
                    ? .nan
                    : (latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] * 100).rounded() / 100
            }
            var perFlow: Double?
            if let before, let after, after.keys > before.keys {
                perFlow = (Double(after.bytes - before.bytes) / Double(after.keys - before.keys)).rounded()
            }
            let result = SyncBenchResult(
                store: "redis", rate: rate, flows: shared.sent.load(ordering: .acquiring),
                reached: latencies.count, p50Milliseconds: pct(0.5),
                p99Milliseconds: pct(0.99), maxMilliseconds: pct(1),
                storeBytesPerFlow: perFlow)
            log(
                "bench-sync \(rate)/s: \(result.reached)/\(result.flows) reached lb2, "
                    + "p50 \(result.p50Milliseconds) ms, p99 \(result.p99Milliseconds) ms, "
                    + "max \(result.maxMilliseconds) ms")
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

    /// Redis' used memory and key count, read in the router namespace.
    func redisMemory() -> (bytes: Int, keys: Int)? {
        guard let size = try? inNS(router, ["redis-cli", "-h", "10.77.2.1", "dbsize"]),
            let keys = Int(size.trimmingCharacters(in: .whitespacesAndNewlines)),
            let bytes = redisInfo("memory", "used_memory")
        else { return nil }
        return (bytes, keys)
    }

    /// One integer field of the lab Redis' INFO section.
    func redisInfo(_ section: String, _ field: String) -> Int? {
        guard let info = try? inNS(router, ["redis-cli", "-h", "10.77.2.1", "info", section]) else { return nil }
        let line = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("\(field):") }
        return line.flatMap { Int($0.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces)) }
    }
}
