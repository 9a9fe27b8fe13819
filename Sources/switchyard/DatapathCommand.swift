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
                "Run packets through the Swift model and the kernel program (BPF_PROG_TEST_RUN); report "
                + "every disagreement.",
            discussion: """
                Random packets (--packets, --seed) or every frame of a capture (--pcap). Tables come from
                --config, or a built-in config that uses every service option; with it, random runs also give
                half the services random source ranges and re-draw one service's every 2,000 packets. Needs
                root (BPF).
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
            // The built-in config's random runs exercise source ranges too (a given config keeps its own).
            var ranges = config == nil && pcap == nil ? SourceRangeGenerator(seed: seed) : nil
            for (index, key) in harness.model.services.keys.sorted().enumerated() where index % 2 == 0 {
                if let list = ranges?.ranges(for: key.vip.family) { try harness.setSourceRanges(list, service: key) }
            }
            var rangeOutcomes = SourceRangeOutcomes()
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
                if count % 2000 == 1999, let change = ranges?.change(in: harness.model) {
                    try harness.setSourceRanges(change.ranges, service: change.service)
                }
                if let m = try harness.run(frame) {
                    mismatchCount += 1
                    if mismatches.count < show { mismatches.append(m) }
                }
                rangeOutcomes.count(harness.lastResult, tables: harness.model)
                count += 1
                if count % 10_000 == 0 { tableProblems += try harness.compareFlowTables() }
                if count % 200_000 == 0 { try harness.clearFlows() }
                if !json && count % 100_000 == 0 { print("  \(count)/\(total) packets, \(mismatchCount) mismatches") }
            }
            tableProblems += try harness.compareFlowTables()
            if !tableProblems.isEmpty {
                mismatchCount += 1
                if !json {
                    print("flow tables differ:\n  " + tableProblems.prefix(show * 4).joined(separator: "\n  "))
                }
            }
            let seconds = Double((ContinuousClock.now - started).components.seconds)
            if json {
                let object: [String: Any] = [
                    "packets": count, "mismatches": mismatchCount, "seed": pcap == nil ? seed : 0,
                    "source": pcap ?? "random", "kernel_untestable": harness.kernelUntestable,
                    "flow_table_differences": tableProblems.count,
                    "source_range_dropped": rangeOutcomes.dropped, "source_range_admitted": rangeOutcomes.admitted,
                    "first_mismatches": mismatches.map(\.description),
                ]
                print(
                    String(
                        decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
                        as: UTF8.self))
            } else {
                print(
                    "selftest: \(count) packets (\(pcap ?? "random, seed \(seed)")), \(mismatchCount) "
                        + "mismatches, \(harness.kernelUntestable) shorter than Ethernet (model only), "
                        + "\(Int(seconds)) s; source ranges: \(rangeOutcomes)"
                )
                for m in mismatches { print("\n" + m.description) }
            }
            if mismatchCount > 0 { throw ExitCode(1) }
        }
    }

    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Kernel ns/packet per case, net of the harness floor measured in the same run (root).",
            discussion: """
                Default: every case in block mode (blocks of --block calls of one case after --warmup
                unrecorded calls, cases rotating block by block), p10 / median / p90 net of the floor,
                then the fill tests at 100k and 1M flows. --mode cold interleaves call by call instead.
                --fill N runs only the fill test at N; --both-cpus only the two-CPU comparison.
                """)

        @Option(help: "Recorded samples per case.") var samples: Int = 20000
        @Option(help: "CPU to pin to.") var cpu: Int = 0
        @Option(help: "block (default) or cold (call-by-call interleaving of the cases).")
        var mode: DatapathBench.Mode = .block
        @Option(help: "Block mode: recorded calls of one case in a row.") var block: Int = 4000
        @Option(help: "Block mode: unrecorded warm-up calls before each block.") var warmup: Int = 1000
        @Option(help: "Configured capacity of the large tables and the kernel LRU reference.")
        var tableCapacity: Int = 1_000_000
        @Option(help: "Load this BPF object instead of the embedded one (for comparing builds).") var bpfObject: String?
        @Option(help: "Also measure this BPF object in the same run (cases marked [B]).") var compareObject: String?
        @Option(help: "Only the fill test: N random flows into tables of capacity N.") var fill: Int?
        @Flag(help: "Only the established and new-flow cases, on CPUs 0 and 1 at once and on CPU 0 alone.")
        var bothCpus = false
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            guard samples > 0, block > 0, warmup >= 0 else {
                throw ValidationError("--samples and --block must be positive, --warmup not negative")
            }
            guard tableCapacity >= 4096 else { throw ValidationError("--table-capacity must be at least 4096") }
            if let fill, fill < 1 { throw ValidationError("--fill needs at least one flow") }
            guard fill == nil || !bothCpus else {
                throw ValidationError("--fill and --both-cpus are separate runs: give one")
            }
        }

        func run() throws {
            if let reason = Privileges.bpfUnavailableReason() {
                printError("datapath bench: \(reason)")
                throw ExitCode(2)
            }
            let bench = DatapathBench(
                samples: samples, cpu: cpu, mode: mode, block: block, warmup: warmup,
                objectPath: bpfObject, compareObjectPath: compareObject,
                largeTable: tableCapacity)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            func show(_ value: some Encodable, _ lines: [String]) throws {
                print(json ? String(decoding: try encoder.encode(value), as: UTF8.self) : lines.joined(separator: "\n"))
            }
            if let fill {
                let result = try bench.fill(fill)
                try show(result, [result.line])
            } else if bothCpus {
                let result = try bench.bothCPUs()
                try show(result, result.lines)
            } else {
                let report = try bench.run()
                try show(report, report.lines)
            }
        }
    }
}

extension DatapathBench.Mode: ExpressibleByArgument {}
