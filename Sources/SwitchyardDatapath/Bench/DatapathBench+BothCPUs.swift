import DatapathModel
import Foundation
import Glibc

extension DatapathBench {
    /// `--both-cpus`: the established and new-flow cases (and the floor) on the first CPU alone,
    /// then on both CPUs at once — one thread pinned to each, one shared table, each thread its
    /// own new flows, a barrier before every block so both CPUs run the same case at the same
    /// time. Block mode. Reports each CPU's cost and the combined rate against one CPU's.
    public func bothCPUs(_ cpus: [Int] = [0, 1]) throws -> BothCPUs {
        let schedule = BenchSchedule(mode: .block, samples: samples, block: block, warmup: warmup)
        let calls = schedule.callsPerRunner
        let table = try BenchSetup.datapath(capacity: largeTable, object: objectPath)
        let established = try PacketSpec.parse("tcp 10.0.1.2:40000 > 10.200.0.10:80 A len=64").frame()
        _ = try BenchCall.run(program: table.programFD, frame: established)
        let syn = try FrameTemplate(BenchSetup.synSpec)
        let flows = BenchFlows(seed: BenchSetup.Seed.newFlow)
        // Run 0 is the CPU alone; runs 1... the threads together; each draws distinct new flows.
        @Sendable func runners(_ run: Int) -> [BenchRunner] {
            [
                BenchRunner(
                    id: CaseID.floor, name: "floor (empty XDP program)", program: table.passProgramFD,
                    frames: [established]),
                BenchRunner(
                    id: CaseID.establishedV4, name: "established v4", program: table.programFD,
                    frames: [established]),
                BenchRunner(
                    id: CaseID.newFlow, name: "new flow (SYN + insert), \(Self.label(largeTable)) table",
                    program: table.programFD,
                    frames: (run * calls..<(run + 1) * calls).map { syn.frame(flows.client($0)) }),
            ]
        }
        func cases(_ measured: [BenchRunner]) -> [Case] {
            let floor = Percentiles(measured[0].gross)
            return measured.dropFirst().map {
                Case(
                    id: $0.id, name: $0.name, mode: .block, samples: $0.gross.count, gross: Percentiles($0.gross),
                    floor: floor)
            }
        }

        var alone = runners(0)
        do {
            let pin = try CPUPin(cpu: cpus[0])
            defer { pin.restore() }
            try schedule.measure(&alone)
        }
        let barrier = Barrier(count: cpus.count)
        let results = PinnedThreads.run(cpus: cpus) { index in
            do {
                var mine = runners(1 + index)
                try schedule.measure(&mine, beforeBlock: barrier.wait)
                return mine
            } catch {
                barrier.abandon()
                throw error
            }
        }
        let together = try results.map { try $0.get() }.map(cases)
        let aloneCases = cases(alone)
        let entries = aloneCases.indices.map { i in
            BothCPUs.Entry(
                id: aloneCases[i].id, name: aloneCases[i].name, alone: aloneCases[i],
                together: together.map { $0[i] })
        }
        withExtendedLifetime(table) {}
        return BothCPUs(cpus: cpus, samples: samples, block: block, warmup: warmup, entries: entries)
    }
}

/// Threads pinned one per CPU, each running `body` with its index; waits for all of them.
enum PinnedThreads {
    static func run<T: Sendable>(cpus: [Int], _ body: @escaping @Sendable (Int) throws -> T) -> [Result<T, Error>] {
        let box = ResultBox<T>(count: cpus.count)
        let done = DispatchSemaphore(value: 0)
        for (index, cpu) in cpus.enumerated() {
            let thread = Thread {
                box.set(
                    index,
                    Result {
                        let pin = try CPUPin(cpu: cpu)
                        defer { pin.restore() }
                        return try body(index)
                    })
                done.signal()
            }
            thread.start()
        }
        for _ in cpus { done.wait() }
        return box.results
    }

    private final class ResultBox<T: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var slots: [Result<T, Error>?]
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ r: Result<T, Error>) { lock.withLock { slots[i] = r } }
        var results: [Result<T, Error>] {
            lock.withLock { slots.map { $0 ?? .failure(BPFError("a bench thread did not report", errno: EINVAL)) } }
        }
    }
}

/// A reusable barrier for a fixed number of threads. A thread that fails abandons it, and every
/// wait then returns at once: the others finish unsynchronised instead of waiting forever.
final class Barrier: @unchecked Sendable {
    private let condition = NSCondition()
    private let count: Int
    private var waiting = 0, generation = 0, broken = false

    init(count: Int) { self.count = count }

    func wait() {
        condition.lock()
        defer { condition.unlock() }
        guard !broken else { return }
        let arrivedIn = generation
        waiting += 1
        if waiting == count {
            waiting = 0
            generation += 1
            condition.broadcast()
            return
        }
        while generation == arrivedIn && !broken { condition.wait() }
    }

    func abandon() {
        condition.lock()
        broken = true
        condition.broadcast()
        condition.unlock()
    }
}
