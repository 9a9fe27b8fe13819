import CLibbpf
import DatapathModel
import Glibc
import SwitchyardCore

/// Kernel ns/packet of the LB program per case, by BPF_PROG_TEST_RUN with `repeat = 1` (each
/// run gets a fresh copy of the packet: with `repeat > 1` the kernel re-runs the program on its
/// own output). The harness floor — the same syscall running an empty XDP program — is measured
/// by the same schedule in the same run and subtracted; p10 / median / p90, pinned to one CPU.
///
/// By default each case runs in blocks (`BenchSchedule`): calls of one case follow each other, as
/// packets of one kind do, instead of each call finding the caches another case's table sweep
/// left (`Mode.cold`, kept for comparison).
///
/// Baselines in the same run: a program that only reads one random flow set of the large table
/// (what memory alone costs a new flow there), and the kernel's LRU hash at the same size doing
/// a new flow's table step (lookup, miss, insert) — what other XDP balancers keep flows in.
public struct DatapathBench: Sendable {
    public enum Mode: String, Sendable, Encodable, CaseIterable {
        /// Blocks of one case after an unrecorded warm-up; cases rotate block by block.
        case block
        /// One call of each case in turn: every call after another case's (cache-polluting) call.
        case cold
    }

    public var samples: Int
    public var cpu: Int
    public var mode: Mode
    /// Recorded calls of one case in a row (block mode).
    public var block: Int
    /// Unrecorded calls before each block (block mode).
    public var warmup: Int
    public var objectPath: String?
    /// A second BPF object measured in the same run (its cases are marked [B], ids end in `_b`).
    public var compareObjectPath: String?
    /// Configured capacity of the large tables (the "1M" cases) and of the kernel LRU reference.
    public var largeTable: Int
    /// Fill tests of a default run (N random flows into a table of capacity N).
    public var fillSizes: [Int]

    public init(
        samples: Int = 20000, cpu: Int = 0, mode: Mode = .block, block: Int = 4000, warmup: Int = 1000,
        objectPath: String? = nil, compareObjectPath: String? = nil, largeTable: Int = 1_000_000,
        fillSizes: [Int] = [100_000, 1_000_000]
    ) {
        self.samples = samples
        self.cpu = cpu
        self.mode = mode
        self.block = block
        self.warmup = warmup
        self.objectPath = objectPath
        self.compareObjectPath = compareObjectPath
        self.largeTable = largeTable
        self.fillSizes = fillSizes
    }

    /// Stable case identifiers (JSON `id`).
    public enum CaseID {
        public static let floor = "floor"
        public static let nonVIP = "non_vip_pass"
        public static let establishedV4 = "established_v4"
        public static let establishedV6 = "established_v6"
        public static let gue = "established_gue"
        public static let sourceIP = "established_source_ip"
        public static let fib = "established_v4_fib"
        public static let fibEvery = "established_v4_fib_every_packet"
        public static let roundRobin = "established_10k_round_robin"
        public static let largeRandom = "established_large_random"
        public static let newFlow = "new_flow"
        public static let newFlowHalfFull = "new_flow_half_full"
        public static let newFlowMedium = "new_flow_64k"
        public static let newFlowSmallFull = "new_flow_small_full_evicts"
        public static let synFlood = "syn_flood_full_table"
        public static let coldRead = "cold_read"
        public static let coldReadPair = "cold_read_pair"
        public static let forwardFloor = "forward_floor"
        public static let kernelLRU = "kernel_lru"

        /// Every case of one BPF object, in the order they run.
        public static let perObject = [
            nonVIP, establishedV4, establishedV6, gue, sourceIP, fib, fibEvery, roundRobin,
            largeRandom, newFlow, newFlowHalfFull, newFlowMedium, newFlowSmallFull,
            synFlood, coldRead, coldReadPair, forwardFloor,
        ]
        /// New-flow cases into a table of the LRU reference's size: compared with it.
        static let comparedWithLRU: Set<String> = [newFlow, newFlowHalfFull]
    }

    var schedule: BenchSchedule { BenchSchedule(mode: mode, samples: samples, block: block, warmup: warmup) }

    /// Every case, and the fill tests of `fillSizes`.
    public func run() throws -> Report {
        let pin = try CPUPin(cpu: cpu)
        defer { pin.restore() }
        let calls = schedule.callsPerRunner

        var fills: [Fill] = []
        var largeFilled: LBDatapath?
        for n in fillSizes {
            let (fill, table) = try fillTest(n)
            fills.append(fill)
            if n == largeTable { largeFilled = table }
        }
        // A namespace whose FIB answers for the backends; without one the FIB case says what it got.
        let namespace: FIBNamespace?
        let namespaceError: String?
        do {
            (namespace, namespaceError) = (try FIBNamespace(), nil)
        } catch {
            (namespace, namespaceError) = (nil, "\(error)")
        }
        func inNamespace<T>(_ body: () throws -> T) throws -> T { try namespace.map { try $0.inside(body) } ?? body() }

        var setups: [BenchSetup] = []
        for (object, label) in [(objectPath, ""), (compareObjectPath, " [B]")] where label.isEmpty || object != nil {
            let large = setups.isEmpty ? largeFilled : nil
            setups.append(
                try inNamespace {
                    try BenchSetup(
                        object: object, label: label, bench: self, calls: calls, largeFilled: large,
                        namespace: namespace, namespaceError: namespaceError)
                })
        }
        let reference = try ReferenceLRU(maxEntries: largeTable)
        let flows = BenchFlows(seed: BenchSetup.Seed.lru)
        let syn = try FrameTemplate(BenchSetup.synSpec)
        var runners = [
            BenchRunner(
                id: CaseID.floor, name: "floor (empty XDP program)", program: setups[0].passProgram,
                frames: [setups[0].establishedFrame])
        ]
        runners += setups.flatMap(\.runners)
        let lruName = "kernel LRU hash \(Self.label(largeTable)): miss + insert"
        runners.append(
            BenchRunner(
                id: CaseID.kernelLRU, name: lruName, program: reference.programFD,
                frames: (0..<calls).map { syn.frame(flows.client($0)) }))

        try inNamespace { try schedule.measure(&runners) }
        withExtendedLifetime((setups, reference, namespace)) {}

        let floor = Percentiles(runners[0].gross)
        var cases = runners.dropFirst().map {
            Case(
                id: $0.id, name: $0.name, mode: mode, samples: $0.gross.count, gross: Percentiles($0.gross),
                floor: floor, note: $0.note)
        }
        if let lru = cases.last(where: { $0.id == CaseID.kernelLRU }), lru.net.p50 > 0 {
            for i in cases.indices where CaseID.comparedWithLRU.contains(cases[i].id.replacingSuffix("_b")) {
                cases[i].ratioToLRU = cases[i].net.p50 / lru.net.p50
            }
        }
        return Report(
            mode: mode, cpu: cpu, samples: samples, block: block, warmup: warmup, largeTable: largeTable,
            floor: floor, cases: cases, fills: fills)
    }

    /// "1M", "500k", "64K"-style sizes for case names.
    static func label(_ n: Int) -> String {
        func short(_ x: Double) -> String {
            let rounded = (x * 10).rounded() / 10
            return rounded == rounded.rounded() ? "\(Int(rounded))" : "\(rounded)"
        }
        if n >= 1_000_000 { return short(Double(n) / 1e6) + "M" }
        if n >= 1000 { return short(Double(n) / 1e3) + "k" }
        return "\(n)"
    }
}

extension String {
    fileprivate func replacingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
