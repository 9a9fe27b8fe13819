import Foundation
import NIOCore
import NIOPosix
import SwitchyardDatapath
import SwitchyardNet

/// `switchyard lab bench`: the XDP path against plain kernel routing over the same hops.
public struct LabBenchResult: Sendable, Codable {
    public var path: String
    public var throughput_gbps: Double
    public var connections_per_s: Double
}

extension Lab {
    /// The baseline: lb3 without its agent or XDP program, forwarding `baselineAddress` to be1
    /// by kernel routing (client → router → lb3 → be1, reply be1 → router → client — the XDP
    /// path's hops and offload settings, without XDP and encapsulation).
    func prepareBaseline() throws {
        killAgent(3)
        try inNS(lb(3), ["ip", "link", "set", "dev", "eth0", "xdp", "off"])
        try inNS(lb(3), ["ip", "route", "replace", "\(Self.baselineAddress)/32", "via", "10.77.2.21"])
        try inNS(be(1), ["ip", "addr", "replace", "\(Self.baselineAddress)/32", "dev", "lo"])
        try inNS(router, ["ip", "route", "replace", "\(Self.baselineAddress)/32", "via", "10.77.2.13"])
        try setECMP([1])
        try spawn(be(1), ["iperf3", "-s", "-p", "5201"], log: "be1-iperf3")
        Thread.sleep(forTimeInterval: 0.5)
    }

    func iperf(_ host: String, seconds: Int) throws -> Double {
        let out = try inNS(client, ["iperf3", "-c", host, "-p", "5201", "-t", "\(seconds)", "-J"])
        let json = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        let end = json?["end"] as? [String: Any]
        let received = end?["sum_received"] as? [String: Any]
        return ((received?["bits_per_second"] as? Double ?? 0) / 1e9 * 100).rounded() / 100
    }

    func connectionRate(_ host: String, seconds: Double) throws -> Double {
        let out = try inNS(client, [executable, "lab-connrate", "--host", host, "--seconds", "\(seconds)"])
        return (try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])?["per_second"] as? Double ?? 0
    }

    public func bench(seconds: Int) throws -> [LabBenchResult] {
        try prepareBaseline()
        var results: [LabBenchResult] = []
        // Interleave the paths so drift in this VM hits them alike.
        var samples: [String: [(Double, Double)]] = [:]
        let paths = [("XDP LB (IPIP, DSR)", Self.benchVIP), ("kernel routing baseline", Self.baselineAddress), ("direct to backend", "10.77.2.21")]
        for _ in 0..<2 {
            for (name, host) in paths {
                samples[name, default: []].append((try iperf(host, seconds: seconds), try connectionRate(host, seconds: Double(seconds) / 2)))
            }
        }
        for (name, _) in paths {
            let s = samples[name]!
            results.append(LabBenchResult(path: name, throughput_gbps: s.map(\.0).max()!, connections_per_s: s.map(\.1).max()!))
        }
        return results
    }
}

/// New TCP connections per second: workers each connect, exchange one line, close, repeat.
public enum ConnectionRate {
    public static func measure(host: String, port: Int, seconds: Double, workers: Int = 16) async -> Double {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let counts = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var done = 0
                    while ContinuousClock.now < deadline {
                        do {
                            let channel = try await ConnectionClient.connect(host: host, port: port,
                                                                             timeout: .seconds(2))
                            try await channel.executeThenClose { inbound, outbound in
                                try await outbound.write(ByteBuffer(string: "PING 0\n"))
                                var iterator = inbound.makeAsyncIterator()
                                _ = try await iterator.next()
                            }
                            done += 1
                        } catch {}
                    }
                    return done
                }
            }
            return await group.reduce(0, +)
        }
        return (Double(counts) / seconds).rounded()
    }
}
