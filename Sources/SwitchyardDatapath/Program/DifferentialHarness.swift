import DatapathModel
import SwitchyardABI
import SwitchyardCore

/// Runs packets through the Swift model and the kernel program on the same tables and says
/// where they disagree: verdict, output bytes, counter changes, and the flow-table entry.
///
/// Excluded from the comparison, by design (see NOTES on BPF_PROG_TEST_RUN): flow-entry
/// timestamps, which entry an LRU evicts (the flow table is kept far below capacity), and the
/// FIB (the tables set explicit MACs, or the model's swap fallback must match the kernel's
/// FIB miss in the test namespace).
public final class DifferentialHarness: @unchecked Sendable {
    public let datapath: LBDatapath
    public let writer: DatapathWriter
    public private(set) var model: DatapathTables
    private let counters: CounterReader

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

    public init(tables: DatapathTables, flowCapacity: Int = 1 << 18) throws {
        datapath = try LBDatapath(options: .init(flowCapacity: flowCapacity))
        writer = DatapathWriter(datapath: datapath)
        counters = CounterReader(datapath: datapath)
        model = tables
        try writer.apply(tables)
        try writer.install(flows: tables.flows)
    }

    /// Frames the kernel cannot be asked about: BPF_PROG_TEST_RUN refuses anything shorter than
    /// an Ethernet header (no device delivers such a frame to XDP). The model's answer for them
    /// is checked by the model suite alone.
    public private(set) var kernelUntestable = 0

    /// One packet through both; nil when they agree.
    public func run(_ frame: [UInt8]) throws -> Mismatch? {
        if frame.count < 14 {
            kernelUntestable += 1
            _ = Pipeline.process(frame, tables: &model)
            return nil
        }
        let services = Array(model.serviceNames.keys)
        let backends = Array(model.backends.keys)
        let before = try counters.read(services: services, backends: backends)
        let result = Pipeline.process(frame, tables: &model)
        let kernel = try TestRun.run(program: datapath.programFD, frame: frame)
        let after = try counters.read(services: services, backends: backends)
        let delta = CounterDelta.difference(after, before)

        var problems: [String] = []
        switch (result.verdict, kernel.action) {
        case (.pass, TestRun.xdpPass):
            if kernel.output != frame { problems.append("pass, but the kernel changed the frame") }
        case (.tx(let expected), TestRun.xdpTX):
            if ignoreMACs ? kernel.output.dropFirst(12) != expected.dropFirst(12) : kernel.output != expected {
                problems.append(
                    "output differs at byte \(firstDifference(expected, kernel.output)) (model \(expected.count) bytes, kernel \(kernel.output.count))"
                )
                problems.append(
                    "model:  " + FrameDescriber.describe(expected, guePorts: [6080]).joined(separator: " | "))
                problems.append(
                    "kernel: " + FrameDescriber.describe(kernel.output, guePorts: [6080]).joined(separator: " | "))
            }
        case (.drop, TestRun.xdpDrop): break
        default:
            problems.append("verdict: model \(result.verdict), kernel action \(kernel.action)")
        }
        if delta != result.counters {
            problems.append("counters: model {\(describe(result.counters))}, kernel {\(describe(delta))}")
        }
        if let key = result.decision?.flowKey {
            let kernelEntry = try writer.flow(key)
            if kernelEntry != model.flows[key] {
                problems.append(
                    "flow entry for \(key): model \(model.flows[key].map { "\($0)" } ?? "none"), kernel \(kernelEntry.map { "\($0)" } ?? "none")"
                )
            }
        }
        return problems.isEmpty ? nil : Mismatch(frame: frame, problems: problems)
    }

    /// Changes a backend's state in both (rings unchanged, as between a health change and the
    /// ring rebuild that follows it).
    public func setBackendState(_ index: UInt32, _ state: BackendState) throws {
        var tables = model
        tables.backends[index]?.state = state
        try writer.apply(tables)
        model = tables
    }

    /// Empties the flow table in both.
    public func clearFlows() throws {
        try writer.removeFlows(model.flows.keys)
        model.flows = [:]
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
