import CLibbpf
import Glibc

/// One case being measured: a program and the frames it is fed, in order, cycled when there are
/// fewer frames than calls (round-robin cases); cases that must never repeat a frame (new flows)
/// carry one frame per call, warm-up calls included.
struct BenchRunner: Sendable {
    var id: String
    var name: String
    var program: Int32
    var frames: [[UInt8]]
    var note: String?
    private var next = 0
    private(set) var gross: [UInt32] = []

    init(id: String, name: String, program: Int32, frames: [[UInt8]], note: String? = nil) {
        self.id = id
        self.name = name
        self.program = program
        self.frames = frames
        self.note = note
    }

    /// Runs the next frame; keeps its kernel-measured duration when `record` is set.
    mutating func call(record: Bool) throws {
        guard !frames.isEmpty else { throw BPFError("bench case \(name) has no frames to send", errno: EINVAL) }
        let frame = frames[next % frames.count]
        next += 1
        let ns = try BenchCall.run(program: program, frame: frame)
        if record { gross.append(ns) }
    }
}

/// How the cases take turns.
///
/// `block`: each case runs `block` recorded calls in a row, after `warmup` calls that are not
/// recorded, then the next case has its turn; cases rotate block by block, so drift over the run
/// still hits all of them alike. A case's calls meet the caches its own previous calls left,
/// as packets of one kind arriving together would.
///
/// `cold`: one call of each case in turn. Several cases sweep large tables, so every call finds
/// the caches filled by a different case: figures for cache-sensitive cases come out higher
/// (a new flow read ~90–140 ns slower) than in block mode.
struct BenchSchedule: Sendable {
    var mode: DatapathBench.Mode
    var samples: Int
    var block: Int
    var warmup: Int

    var blocks: Int { mode == .block ? (samples + block - 1) / max(block, 1) : 1 }

    /// Calls each runner makes (warm-up included): how many frames a never-repeating case needs.
    var callsPerRunner: Int { mode == .block ? samples + blocks * warmup : samples }

    /// Runs every runner to `samples` recorded calls. `beforeBlock` is called before each block
    /// (block mode): two threads use it to run the same case at the same time.
    func measure(_ runners: inout [BenchRunner], beforeBlock: () -> Void = {}) throws {
        switch mode {
        case .cold:
            for _ in 0..<samples {
                for r in runners.indices { try runners[r].call(record: true) }
            }
        case .block:
            for b in 0..<blocks {
                let recorded = min(block, samples - b * block)
                for r in runners.indices {
                    beforeBlock()
                    for _ in 0..<warmup { try runners[r].call(record: false) }
                    for _ in 0..<recorded { try runners[r].call(record: true) }
                }
            }
        }
    }
}

/// BPF_PROG_TEST_RUN once, for its duration only: no output copied back and nothing allocated,
/// so the harness does as little as possible between calls.
enum BenchCall {
    static func run(program fd: Int32, frame: [UInt8]) throws -> UInt32 {
        var opts = bpf_test_run_opts()
        opts.sz = LibbpfOpts.testRun
        opts.repeat = 1
        let rc = frame.withUnsafeBytes { input in
            opts.data_in = input.baseAddress
            opts.data_size_in = UInt32(input.count)
            return bpf_prog_test_run_opts(fd, &opts)
        }
        try BPFError.check(rc, "BPF_PROG_TEST_RUN")
        return opts.duration
    }
}

/// Pins the calling thread to one CPU; `restore` lets it run on every CPU again.
struct CPUPin {
    private static let words = 16 // 1024 CPUs, as the shim's sched_setaffinity takes a word array

    init(cpu: Int) throws {
        guard cpu >= 0, cpu < Self.words * UInt.bitWidth else {
            throw BPFError("pin to CPU \(cpu): no such CPU", errno: EINVAL)
        }
        var mask = [UInt](repeating: 0, count: Self.words)
        mask[cpu / UInt.bitWidth] = 1 << UInt(cpu % UInt.bitWidth)
        try BPFError.check(
            sched_setaffinity(0, UInt(Self.words * MemoryLayout<UInt>.size), mask),
            "pin to CPU \(cpu) (is it online?)")
    }

    func restore() {
        let cpus = max(1, min(Int(sysconf(Int32(_SC_NPROCESSORS_CONF))), Self.words * UInt.bitWidth))
        var mask = [UInt](repeating: 0, count: Self.words)
        for cpu in 0..<cpus { mask[cpu / UInt.bitWidth] |= 1 << UInt(cpu % UInt.bitWidth) }
        _ = sched_setaffinity(0, UInt(Self.words * MemoryLayout<UInt>.size), mask)
    }
}
