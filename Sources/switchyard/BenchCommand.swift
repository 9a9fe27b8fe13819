import ArgumentParser
import DatapathModel
import Foundation
import SwitchyardCore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print figures (build with -c release).",
        subcommands: [ModelBench.self, ControllerBench.self])
}

/// Maglev build times and the model pipeline's cost per packet. The pipeline cases are
/// reported against the cheapest path measured in the same run (a non-VIP packet that passes).
struct ModelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Maglev build time per backend count and size; model ns/packet for pass, hit and miss.")

    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Packets per pipeline case.") var packets: Int = 200_000

    func run() throws {
        let clock = ContinuousClock()
        func ms(_ d: Duration) -> Double {
            Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15
        }

        var maglev: [[String: Any]] = []
        for size in [65537, 655373] {
            for count in [1, 10, 100, 1000] {
                let members = MaglevReport.members(count: count, weights: [])
                let times = (0..<5).map { _ in ms(clock.measure { _ = MaglevTable(members: members, size: size) }) }
                    .sorted()
                maglev.append(["backends": count, "size": size, "build_ms": (times[2] * 1000).rounded() / 1000])
            }
        }

        let node = DatapathTables.Node(
            ipv4Source: IPv4Address(10, 0, 0, 11), ipv6Source: IPv6Address("fd00::11"),
            sourceMAC: MACAddress("02:00:00:00:00:11"), nextHopMAC: MACAddress("02:00:00:00:00:fe"))
        let config = SwitchyardConfig(
            node: NodeSettings(name: "bench", ipv4Source: node.ipv4Source, ipv6Source: node.ipv6Source),
            services: [
                Service(
                    name: "v4", key: ServiceKey(vip: IPAddress("10.200.0.10")!, port: 80, proto: .tcp),
                    backends: (1...10).map { Backend(address: .v4(IPv4Address(10, 1, 0, UInt8($0))), port: 80) }),
                Service(
                    name: "v6", key: ServiceKey(vip: IPAddress("2001:db8:200::10")!, port: 80, proto: .tcp),
                    backends: (1...10).map { Backend(address: IPAddress("fd00:1::\($0)")!, port: 80) }),
            ])
        let base = DatapathTables(config: config)
        func frames(_ spec: (Int) -> String, distinct: Int) -> [[UInt8]] {
            (0..<distinct).map { try! PacketSpec.parse(spec($0)).frame() }
        }
        func measure(_ frames: [[UInt8]], warm: Bool) -> Double {
            var tables = base
            tables.node = node
            if warm { for f in frames { _ = Pipeline.process(f, tables: &tables) } }
            let elapsed = clock.measure {
                for i in 0..<packets { _ = Pipeline.process(frames[i % frames.count], tables: &tables) }
            }
            return ms(elapsed) * 1e6 / Double(packets)
        }
        let client = { (i: Int) in "10.0.\(1 + i / 60000 % 200).\(2 + i % 250):\(1024 + i % 60000)" }
        let pass = measure(frames({ "tcp \(client($0)) > 10.99.0.1:80 A" }, distinct: 1024), warm: false)
        let cases: [(String, Double)] = [
            ("pass (non-VIP)", pass),
            ("hit v4", measure(frames({ "tcp \(client($0)) > 10.200.0.10:80 A len=64" }, distinct: 1024), warm: true)),
            (
                "hit v6",
                measure(
                    frames({ "tcp [2001:db8::\($0 + 2)]:40000 > [2001:db8:200::10]:80 A len=64" }, distinct: 1024),
                    warm: true)
            ),
            (
                "miss v4 (insert)",
                measure(frames({ "tcp \(client($0)) > 10.200.0.10:80 S" }, distinct: packets), warm: false)
            ),
        ]
        if json {
            let object: [String: Any] = [
                "maglev": maglev,
                "pipeline": cases.map {
                    [
                        "case": $0.0, "ns_per_packet": ($0.1 * 10).rounded() / 10,
                        "ratio_to_pass": ($0.1 / pass * 100).rounded() / 100,
                    ]
                },
            ]
            print(
                String(
                    decoding: try JSONSerialization.data(
                        withJSONObject: object, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
        } else {
            print("Maglev build (median of 5):")
            for row in maglev { print("  \(row["backends"]!) backends, size \(row["size"]!): \(row["build_ms"]!) ms") }
            print("Model pipeline (\(packets) packets per case; ratio against pass measured in this run):")
            for (name, ns) in cases {
                print(
                    "  \(name.padding(toLength: 18, withPad: " ", startingAt: 0)) "
                        + "\(String(format: "%8.1f", ns)) ns/packet  ×\(String(format: "%.2f", ns / pass))"
                )
            }
        }
    }
}
