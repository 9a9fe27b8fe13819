import Foundation
import NIOCore
import NIOPosix
import SwitchyardDatapath
import SwitchyardNet

/// `switchyard lab bench`: the XDP path against plain kernel routing over the same hops. JSON
/// keys are the lab's published interface; Swift names map to them in `CodingKeys`.
public struct LabBenchResult: Sendable, Codable, Equatable {
    public var path: String
    public var throughputGbps: Double
    public var connectionsPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case path
        case throughputGbps = "throughput_gbps"
        case connectionsPerSecond = "connections_per_s"
    }

    public init(path: String, throughputGbps: Double, connectionsPerSecond: Double) {
        self.path = path
        self.throughputGbps = throughputGbps
        self.connectionsPerSecond = connectionsPerSecond
    }
}

/// What `lab bench --json` prints: every path, and the XDP path over the kernel-routing baseline.
public struct LabBenchReport: Sendable, Codable, Equatable {
    public var paths: [LabBenchResult]
    /// XDP ÷ baseline, two decimals; 0 when the baseline measured nothing.
    public var throughputRatio: Double
    public var connectionsRatio: Double

    enum CodingKeys: String, CodingKey {
        case paths
        case throughputRatio = "throughput_ratio"
        case connectionsRatio = "connections_ratio"
    }

    /// `xdp` and `baseline` name entries of `paths`.
    public init(paths: [LabBenchResult], xdp: String = Lab.benchPathXDP, baseline: String = Lab.benchPathBaseline) {
        self.paths = paths
        func ratio(_ value: (LabBenchResult) -> Double) -> Double {
            guard let top = paths.first(where: { $0.path == xdp }),
                let bottom = paths.first(where: { $0.path == baseline }), value(bottom) > 0
            else { return 0 }
            return (value(top) / value(bottom) * 100).rounded() / 100
        }
        throughputRatio = ratio(\.throughputGbps)
        connectionsRatio = ratio(\.connectionsPerSecond)
    }
}

/// What `lab-connrate` prints.
public struct ConnectionRateReport: Sendable, Codable {
    public var perSecond: Double
    enum CodingKeys: String, CodingKey { case perSecond = "per_second" }
    public init(perSecond: Double) { self.perSecond = perSecond }
}

/// The part of `iperf3 -J` the bench reads.
struct IperfReport: Decodable {
    struct End: Decodable {
        struct Sum: Decodable {
            var bitsPerSecond: Double
            enum CodingKeys: String, CodingKey { case bitsPerSecond = "bits_per_second" }
        }
        var sumReceived: Sum
        enum CodingKeys: String, CodingKey { case sumReceived = "sum_received" }
    }
    var end: End
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
        let report = try JSONDecoder().decode(IperfReport.self, from: Data(out.utf8))
        return (report.end.sumReceived.bitsPerSecond / 1e9 * 100).rounded() / 100
    }

    func connectionRate(_ host: String, seconds: Double) throws -> Double {
        let out = try inNS(client, [executable, "lab-connrate", "--host", host, "--seconds", "\(seconds)"])
        return try JSONDecoder().decode(ConnectionRateReport.self, from: Data(out.utf8)).perSecond
    }

    public static let benchPathXDP = "XDP LB (IPIP, DSR)", benchPathBaseline = "kernel routing baseline"

    /// Best of two interleaved runs per path (so drift in this VM hits them alike).
    public func bench(seconds: Int) throws -> LabBenchReport {
        try prepareBaseline()
        let paths = [
            (Self.benchPathXDP, Self.benchVIP), (Self.benchPathBaseline, Self.baselineAddress),
            ("direct to backend", "10.77.2.21"),
        ]
        var best = paths.map { LabBenchResult(path: $0.0, throughputGbps: 0, connectionsPerSecond: 0) }
        for _ in 0..<2 {
            for (index, (_, host)) in paths.enumerated() {
                best[index].throughputGbps = max(best[index].throughputGbps, try iperf(host, seconds: seconds))
                let rate = try connectionRate(host, seconds: Double(seconds) / 2)
                best[index].connectionsPerSecond = max(best[index].connectionsPerSecond, rate)
            }
        }
        return LabBenchReport(paths: best)
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
                            let channel = try await ConnectionClient.connect(
                                host: host, port: port,
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
