import ArgumentParser
import DatapathFixtures
import DatapathModel
import Foundation
import SwitchyardConfig
import SwitchyardCore
import SwitchyardDatapath

struct DatapathCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datapath",
        abstract: "The XDP datapath: check it against the model, measure it.",
        subcommands: [Selftest.self, Bench.self])
}

extension DatapathCommand {
    struct Selftest: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Run packets through the Swift model and the kernel program (BPF_PROG_TEST_RUN); report every disagreement.",
            discussion: """
                Random packets (--packets, --seed) or every frame of a capture (--pcap). Tables come from
                --config, or a built-in config that uses every service option. Needs root (BPF).
                """)

        @Option(help: "Random packets to generate.") var packets: Int = 100_000
        @Option(help: "Seed of the random generator.") var seed: UInt64 = 1
        @Option(help: "A pcap file (Ethernet) to replay instead of random packets.") var pcap: String?
        @Option(help: "Config whose tables to use (default: the built-in selftest config).") var config: String?
        @Option(help: "Mismatches to describe.") var show: Int = 3
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            if let reason = Privileges.bpfUnavailableReason() {
                printError("datapath selftest: \(reason)")
                throw ExitCode(2)
            }
            let loaded: SwitchyardConfig
            if let config {
                switch ConfigLoader.load(path: config) {
                case .success(let c): loaded = c
                case .failure(let e):
                    for error in e.errors { printError(error.description) }
                    throw ExitCode(1)
                }
            } else {
                loaded = SelftestConfig.config()
            }
            let harness = try DifferentialHarness(tables: DatapathTables(config: loaded))
            // Without node MACs the kernel asks this namespace's FIB, which the model cannot.
            harness.ignoreMACs = loaded.node.sourceMAC == nil
            var frames: AnyIterator<[UInt8]>
            var total = packets
            if let pcap {
                guard let data = FileManager.default.contents(atPath: pcap) else {
                    printError("--pcap: cannot read \(pcap)")
                    throw ExitCode(1)
                }
                let all = try Pcap.read([UInt8](data))
                total = all.count
                frames = AnyIterator(all.makeIterator())
            } else {
                var generator = PacketGenerator(seed: seed, config: loaded)
                var produced = 0
                frames = AnyIterator {
                    guard produced < packets else { return nil }
                    produced += 1
                    return generator.next().frame()
                }
            }
            var mismatches: [DifferentialHarness.Mismatch] = []
            var mismatchCount = 0
            var count = 0
            var tableProblems: [String] = []
            let started = ContinuousClock.now
            while let frame = frames.next() {
                // The datapath's clocks move 0.5 ms a packet (HZ 250): entries age, refresh, become
                // evictable; both sides read the same time.
                try harness.advance(jiffies: count % 8 == 7 ? 1 : 0, nanoseconds: 500_000)
                if let m = try harness.run(frame) {
                    mismatchCount += 1
                    if mismatches.count < show { mismatches.append(m) }
                }
                count += 1
                if count % 10_000 == 0 { tableProblems += try harness.compareFlowTables() }
                if count % 200_000 == 0 { try harness.clearFlows() }
                if !json && count % 100_000 == 0 { print("  \(count)/\(total) packets, \(mismatchCount) mismatches") }
            }
            tableProblems += try harness.compareFlowTables()
            if !tableProblems.isEmpty {
                mismatchCount += 1
                if !json { print("flow tables differ:\n  " + tableProblems.prefix(show * 4).joined(separator: "\n  ")) }
            }
            let seconds = Double((ContinuousClock.now - started).components.seconds)
            if json {
                let object: [String: Any] = [
                    "packets": count, "mismatches": mismatchCount, "seed": pcap == nil ? seed : 0,
                    "source": pcap ?? "random", "kernel_untestable": harness.kernelUntestable,
                    "flow_table_differences": tableProblems.count,
                    "first_mismatches": mismatches.map(\.description),
                ]
                print(
                    String(
                        decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
                        as: UTF8.self))
            } else {
                print(
                    "selftest: \(count) packets (\(pcap ?? "random, seed \(seed)")), \(mismatchCount) mismatches, \(harness.kernelUntestable) shorter than Ethernet (model only), \(Int(seconds)) s"
                )
                for m in mismatches { print("\n" + m.description) }
            }
            if mismatchCount > 0 { throw ExitCode(1) }
        }
    }

    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Kernel ns/packet per case, net of the harness floor measured in the same run (root).")

        @Option(help: "Samples per case (medians are reported).") var samples: Int = 20000
        @Option(help: "CPU to pin to.") var cpu: Int = 0
        @Option(help: "Load this BPF object instead of the embedded one (for comparing builds).") var bpfObject: String?
        @Option(help: "Also measure this BPF object, interleaved in the same run (cases marked [B]).")
        var compareObject: String?
        @Option(help: "Flows written into the 1M-entry table before measuring.") var preload: Int = 0
        @Flag(help: "Print JSON: one object per case.") var json = false

        func run() throws {
            if let reason = Privileges.bpfUnavailableReason() {
                printError("datapath bench: \(reason)")
                throw ExitCode(2)
            }
            let cases = try DatapathBench(
                samples: samples, cpu: cpu, objectPath: bpfObject, compareObjectPath: compareObject, preload: preload
            ).run()
            if json {
                let objects = cases.map {
                    ["case": $0.name, "ns_gross": $0.grossNs, "ns_floor": $0.floorNs, "ns_net": $0.netNs]
                        as [String: Any]
                }
                print(
                    String(
                        decoding: try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted]),
                        as: UTF8.self))
            } else {
                print("XDP LB program, BPF_PROG_TEST_RUN, repeat=1, median of \(samples) per case, CPU \(cpu)")
                print("  floor (empty XDP program, same harness): \(Int(cases.first?.floorNs ?? 0)) ns")
                for c in cases {
                    print(
                        "  \(c.name.padding(toLength: 36, withPad: " ", startingAt: 0)) gross \(String(format: "%5.0f", c.grossNs))  net \(String(format: "%5.0f", c.netNs)) ns"
                    )
                }
                for c in cases where c.name.hasPrefix(DatapathBench.coldRead) {
                    let label = String(c.name.dropFirst(DatapathBench.coldRead.count))
                    if let newFlow = cases.first(where: { $0.name == "new flow (SYN + insert)" + label }) {
                        print(
                            "  new flow\(label) beyond its one cold read: \(String(format: "%.0f", newFlow.grossNs - c.grossNs)) ns"
                        )
                    }
                }
            }
        }
    }
}
