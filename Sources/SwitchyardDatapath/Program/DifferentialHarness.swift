import DatapathModel
import SwitchyardABI
import SwitchyardCore

/// Runs packets through the Swift model and the kernel program on the same tables, at the same
/// time, and says where they disagree: verdict, output bytes, counter and event changes, the
/// flow-event reports, the per-CPU insert budget, and the flow table — the two sets the packet's
/// key may live in after every packet, the whole table on request (`compareFlowTables`).
///
/// Time is an input of both: the kernel runs under a test clock (`SY_NODE_F_TEST_CLOCK`: it reads
/// jiffies and coarse ns from `sy_clock`, which the harness writes), so last-seen and synced
/// times are compared exactly like everything else.
///
/// Excluded from the comparison — this is the one place that says so (see NOTES on
/// BPF_PROG_TEST_RUN):
/// - the FIB: tables should set node MACs; without them the kernel asks the FIB of this
///   namespace, the model swaps the frame's MACs, and `ignoreMACs` skips the first 12 bytes;
/// - the `fib_miss` event, for the same reason (`excludedEvents`);
/// - `flow_report_lost`: the harness drains the ring after every packet, so the model assumes a
///   ring that never fills (a lost report still shows, as a report the model has and the kernel
///   has not);
/// - which CPU ran the packet: the model has one insert budget, and the harness writes it to
///   every CPU before a packet and reads back the one that changed.
public final class DifferentialHarness: @unchecked Sendable {
    public let datapath: LBDatapath
    public let writer: DatapathWriter
    public private(set) var model: DatapathTables
    /// The datapath's clocks for the next packet.
    public private(set) var now: DatapathTime
    /// The model's answer for the last packet run.
    public private(set) var lastResult: PipelineResult?
    private let counters: CounterReader
    private let reports: FlowEventReader

    /// Event counters the model cannot predict (the FIB is the host's).
    public static let excludedEvents: Set<DatapathEvent> = [SY_EVENT_FIB_MISS]

    public struct Mismatch: Sendable, CustomStringConvertible {
        public var frame: [UInt8]
        public var problems: [String]
        public var description: String {
            "frame \(frame.hexString)\n" + FrameDescriber.describe(frame).map { "    \($0)" }.joined(separator: "\n")
                + "\n  " + problems.joined(separator: "\n  ")
        }
    }

    /// Compare output frames from byte 12 on: for tables without node MACs, where the kernel
    /// asks the FIB of the calling namespace (the model cannot) and falls back to a swap.
    public var ignoreMACs = false

    /// `flowCapacity` sizes both tables; the model's entries are re-laid into that shape if its
    /// own differs. The kernel's table starts as a copy of the model's.
    public init(tables: DatapathTables, flowCapacity: Int = 1 << 18, now: DatapathTime = DatapathTime()) throws {
        var tables = tables
        let layout = FlowTableLayout(capacity: flowCapacity)
        if tables.flows.layout != layout { tables.flows = tables.flows.relaid(as: layout, now: now.jiffies32) }
        datapath = try LBDatapath(options: .init(flowCapacity: flowCapacity))
        writer = DatapathWriter(datapath: datapath)
        writer.flowPolicy = tables.flows.policy
        writer.testClock = true
        counters = CounterReader(datapath: datapath)
        reports = try FlowEventReader(datapath: datapath)
        model = tables
        self.now = now
        try writer.setTestClock(now)
        try writer.apply(tables)
        for (index, set) in tables.flows.sets { try writer.flowTable.write(set, at: index) }
    }

    /// Frames the kernel cannot be asked about: BPF_PROG_TEST_RUN refuses anything shorter than
    /// an Ethernet header (no device delivers such a frame to XDP). The model's answer for them
    /// is checked by the model suite alone.
    public private(set) var kernelUntestable = 0

    /// Moves both clocks forward.
    public func advance(jiffies: UInt64 = 0, nanoseconds: UInt64 = 0) throws {
        now.jiffies &+= jiffies
        now.coarseNs &+= nanoseconds
        try writer.setTestClock(now)
    }

    /// Changes the node's flow-table settings in both.
    public func setFlowPolicy(_ policy: FlowTableModel.Policy) throws {
        writer.flowPolicy = policy
        try writer.apply(model)
        model.flows.policy = policy
    }

    /// One packet through both; nil when they agree.
    public func run(_ frame: [UInt8]) throws -> Mismatch? {
        if frame.count < 14 {
            kernelUntestable += 1
            lastResult = Pipeline.process(frame, tables: &model, now: now)
            return nil
        }
        let services = Array(model.serviceNames.keys)
        let backends = Array(model.backends.keys)
        let before = try counters.read(services: services, backends: backends)
        let eventsBefore = try counters.eventCounts()
        let budgetBefore = sy_insert_budget(model.flows.insertBudget)
        let rateLimited = model.flows.policy.newFlowRate != 0
        if rateLimited { try datapath.insertBudget.update(UInt32(0), budgetBefore) }

        let result = Pipeline.process(frame, tables: &model, now: now)
        lastResult = result
        let kernel = try TestRun.run(program: datapath.programFD, frame: frame)

        let delta = CounterDelta.difference(try counters.read(services: services, backends: backends), before)
        var problems: [String] = []
        switch (result.verdict, kernel.action) {
        case (.pass, TestRun.xdpPass):
            if kernel.output != frame { problems.append("pass, but the kernel changed the frame") }
        case (.tx(let expected), TestRun.xdpTX):
            if ignoreMACs ? kernel.output.dropFirst(12) != expected.dropFirst(12) : kernel.output != expected {
                problems.append(
                    "output differs at byte \(firstDifference(expected, kernel.output))"
                        + " (model \(expected.count) bytes, kernel \(kernel.output.count))")
                for (side, output) in [("model:  ", expected), ("kernel: ", kernel.output)] {
                    problems.append(side + FrameDescriber.describe(output, guePorts: [6080]).joined(separator: " | "))
                }
            }
        case (.drop, TestRun.xdpDrop): break
        default:
            problems.append("verdict: model \(result.verdict), kernel action \(kernel.action)")
        }
        if delta != result.counters {
            problems.append("counters: model {\(describe(result.counters))}, kernel {\(describe(delta))}")
        }
        let events = Self.difference(try counters.eventCounts(), eventsBefore)
        if events != result.events {
            problems.append("events: model \(describe(result.events)), kernel \(describe(events))")
        }
        let records = reports.poll(timeoutMs: 0)
        let kernelReports = records.map { $0.report.map { "\($0)" } ?? "unknown kind \($0.kind)" }
        if kernelReports != result.reports.map({ "\($0)" }) {
            problems.append("reports: model \(result.reports), kernel \(kernelReports)")
        }
        if rateLimited {
            let all = try datapath.insertBudget.lookupPerCPU(UInt32(0), as: sy_insert_budget.self) ?? []
            // The CPU that ran the packet is the one whose budget moved (if any did).
            let changed = all.first { $0.last_ns != budgetBefore.last_ns || $0.credit_ns != budgetBefore.credit_ns }
            let kernelBudget = InsertBudget(changed ?? budgetBefore)
            if kernelBudget != model.flows.insertBudget {
                problems.append("insert budget: model \(model.flows.insertBudget), kernel \(kernelBudget)")
            }
        }
        if let hash = result.decision?.flowHash {
            let candidates = model.flows.layout.candidates(hash)
            problems += try compareSet(candidates.first)
            if candidates.second != candidates.first { problems += try compareSet(candidates.second) }
        }
        return problems.isEmpty ? nil : Mismatch(frame: frame, problems: problems)
    }

    /// The whole flow table, set by set and way by way: every difference, described.
    public func compareFlowTables() throws -> [String] {
        let kernel = try writer.flowTable.sets()
        let indices = Set(kernel.keys).union(model.flows.sets.keys).sorted()
        var problems: [String] = []
        for index in indices where kernel[index] ?? FlowSet() != model.flows.set(index) {
            problems += describe(set: index, model: model.flows.set(index), kernel: kernel[index] ?? FlowSet())
        }
        let overflow = try writer.flowTable.overflow()
        if overflow != model.flows.overflow {
            problems.append("flow overflow: model \(model.flows.overflow), kernel \(overflow)")
        }
        return problems
    }

    private func compareSet(_ index: UInt32) throws -> [String] {
        let kernel = try writer.flowTable.set(index)
        let expected = model.flows.set(index)
        return kernel == expected ? [] : describe(set: index, model: expected, kernel: kernel)
    }

    private func describe(set index: UInt32, model: FlowSet, kernel: FlowSet) -> [String] {
        func text(_ way: FlowWay?) -> String { way.map { "\($0)" } ?? "empty" }
        return zip(model.ways, kernel.ways).enumerated().compactMap { w, pair in
            pair.0 == pair.1 ? nil : "flow set \(index) way \(w): model \(text(pair.0)), kernel \(text(pair.1))"
        }
    }

    /// Changes a backend's state in both (rings unchanged, as between a health change and the
    /// ring rebuild that follows it).
    public func setBackendState(_ index: UInt32, _ state: BackendState) throws {
        var tables = model
        tables.backends[index]?.state = state
        try writer.apply(tables)
        model = tables
    }

    /// Replaces a service's source ranges in both (an empty list admits every client).
    public func setSourceRanges(_ ranges: [IPPrefix], service key: ServiceKey) throws {
        var tables = model
        tables.services[key]?.sourceRanges = ranges
        try writer.apply(tables)
        model = tables
    }

    /// Replaces one flow set in both (tests: torn entries, states no packet sequence makes).
    public func replaceFlowSet(_ index: UInt32, with set: FlowSet) throws {
        try writer.flowTable.write(set, at: index)
        model.flows.replaceSet(index, with: set)
    }

    /// Installs entries from user space into both, at the harness's time: the model's install
    /// and the kernel writer's (`FlowTable.install`) must place them alike. Returns what each said.
    public func installFlows(_ flows: [FlowKey: DatapathTables.FlowEntry], remote: Bool, protect: UInt32)
        throws -> (model: FlowTableModel.InstallResult, kernel: FlowTableModel.InstallResult)
    {
        let evictIdle = model.flows.policy.evictIdle
        let now32 = now.jiffies32
        let kernel = try writer.flowTable.install(
            flows, remote: remote, now: now32, evictIdle: evictIdle,
            protect: protect)
        let expected = model.flows.install(flows, remote: remote, now: now32, evictIdle: evictIdle, protect: protect)
        return (expected, kernel)
    }

    /// The agent's `keepOwnFlows` in both (`FlowTableModel.keepOwn`, `FlowTable.keepOwn`).
    public func keepOwnFlows(_ flows: [FlowKey: DatapathTables.FlowEntry])
        throws -> (model: FlowTableModel.InstallResult, kernel: FlowTableModel.InstallResult)
    {
        let evictIdle = model.flows.policy.evictIdle
        let kernel = try writer.flowTable.keepOwn(flows, now: now.jiffies32, evictIdle: evictIdle)
        let expected = model.flows.keepOwn(flows, now: now.jiffies32, evictIdle: evictIdle)
        return (expected, kernel)
    }

    /// Empties the flow table in both.
    public func clearFlows() throws {
        try writer.flowTable.removeAll()
        model.flows.removeAll()
    }

    private static func difference(_ after: [DatapathEvent: UInt64], _ before: [DatapathEvent: UInt64])
        -> [DatapathEvent: UInt64]
    {
        var d: [DatapathEvent: UInt64] = [:]
        for (event, n) in after where !excludedEvents.contains(event) && n != before[event, default: 0] {
            d[event] = n &- before[event, default: 0]
        }
        return d
    }

    private func describe(_ events: [DatapathEvent: UInt64]) -> String {
        "{"
            + events.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.name) \($0.value)" }
            .joined(separator: ", ") + "}"
    }

    private func describe(_ c: CounterDelta) -> String {
        var parts: [String] = []
        for (id, s) in c.services.sorted(by: { $0.key < $1.key }) {
            parts.append("svc\(id) p\(s.packets) b\(s.bytes) n\(s.newFlows) tb\(s.tooBig)")
        }
        for (id, b) in c.backends.sorted(by: { $0.key < $1.key }) {
            parts.append("be\(id) p\(b.packets) b\(b.bytes) n\(b.newFlows)")
        }
        for (r, n) in c.drops.sorted(by: { $0.key.rawValue < $1.key.rawValue }) { parts.append("drop \(r.name) \(n)") }
        return parts.joined(separator: ", ")
    }

    private func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
        zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
    }
}

extension sy_insert_budget {
    init(_ budget: InsertBudget) { self.init(last_ns: budget.lastNs, credit_ns: budget.creditNs) }
}

extension InsertBudget {
    init(_ budget: sy_insert_budget) { self.init(lastNs: budget.last_ns, creditNs: budget.credit_ns) }
}
