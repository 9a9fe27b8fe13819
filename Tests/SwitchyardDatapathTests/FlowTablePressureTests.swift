import DatapathFixtures
import DatapathModel
import SwitchyardABI
import SwitchyardCore
import Testing

@testable import SwitchyardDatapath

/// The flow table under pressure, model against kernel: a table of 148 sets × 8 ways (capacity
/// 1024), 100,000 packets over 20,000 flows (about twenty times the entries), time moving (with
/// bursts at one instant), eviction after idleness over both candidate sets, an insert budget,
/// refresh reports, backends changing state, torn entries and user-space installs of remote
/// entries. Verdicts, output bytes, counters, events, reports, the insert budget and both
/// candidate sets of every packet must agree; the whole table is compared every 1,000 packets
/// and at the end.
@Suite(.enabled(if: BPFProbe.available, BPFProbe.skipMessage), .serialized)
struct FlowTablePressureTests {
    static let hz: UInt64 = 250
    static let nsPerJiffy = 1_000_000_000 / hz

    @Test func modelAndKernelAgreeUnderPressure() throws {
        let config = try FlowPressureGenerator.config()
        let harness = try DifferentialHarness(
            tables: DatapathTables(config: config), flowCapacity: 1024,
            now: DatapathTime(jiffies: 1_000, coarseNs: 1_000 * Self.nsPerJiffy))
        #expect(harness.model.flows.layout.setCount == 148)
        // Idle 0.2 s before a way may be taken, 1,500 inserts/s per CPU, a refresh per 0.4 s of use.
        try harness.setFlowPolicy(.init(evictIdle: 50, newFlowRate: 1500, syncRefresh: 100))
        var generator = FlowPressureGenerator(seed: 11, config: config, flowCount: 20_000, hotCount: 300)
        var rng = SplitMix64(seed: 11)
        let backends = harness.model.backends.keys.sorted()
        var mismatches: [String] = []
        var verdicts: [String: Int] = [:]
        var events: [DatapathEvent: UInt64] = [:]
        var reports: [FlowTableReport.Kind: Int] = [:]
        var inserted = 0
        var placements = PlacementTally()
        var remoteBusy = 0
        var ns = harness.now.coarseNs

        for i in 0..<100_000 where mismatches.count < 5 {
            let step = generator.next()
            ns += step.advanceNs
            try harness.advance(jiffies: ns / Self.nsPerJiffy - harness.now.jiffies, nanoseconds: step.advanceNs)
            if i % 4000 == 3999 {
                let index = backends[Int(rng.next() % UInt64(backends.count))]
                try harness.setBackendState(index, [.up, .up, .down, .draining][Int(rng.next() % 4)])
            }
            if i % 1000 == 500 { try tearAnEntry(harness, &rng) }
            if i % 1000 == 700 {
                let (model, kernel) = try harness.installFlows(remoteFlows(harness, &rng), remote: true, protect: 200)
                if model != kernel { mismatches.append("install: model \(model), kernel \(kernel)") }
                remoteBusy += model.busy
            }
            let before = harness.model.flows
            if let mismatch = try harness.run(step.packet.frame()) { mismatches.append(mismatch.description) }
            if i % 1000 == 999 {
                let problems = try harness.compareFlowTables()
                if !problems.isEmpty { mismatches.append("after packet \(i): " + problems.joined(separator: "\n")) }
            }
            guard let result = harness.lastResult else { continue }
            verdicts[String(describing: result.verdict).components(separatedBy: " ").first ?? "", default: 0] += 1
            for (event, n) in result.events { events[event, default: 0] += n }
            for report in result.reports { reports[report.kind, default: 0] += 1 }
            if let decision = result.decision, decision.flow == .inserted {
                inserted += 1
                placements.count(decision, before: before, after: harness.model.flows)
            }
        }
        let final = try harness.compareFlowTables()
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches; first:\n\(mismatches.first ?? "")")
        #expect(final.isEmpty, "\(final.prefix(5))")

        // The run reached every rule it is meant to exercise.
        // (Seed 11 gives about 83,500 tx, 13,100 inserts, 11,100 busy, 18,500 rate-limited, 65 torn.)
        #expect(verdicts["tx", default: 0] > 70_000, "\(verdicts)")
        #expect(inserted > 8 * 1184, "entries churned: \(inserted) inserts into 1184 ways")
        // Both choices are exercised: new entries in second sets, and evictions when both
        // candidate sets were full, taking the idlest way of either.
        #expect(placements.intoSecond > 1000, "\(placements)")
        #expect(placements.evictedFromFirst > 100 && placements.evictedFromSecond > 100, "\(placements)")
        #expect(events[SY_EVENT_FLOW_SET_BUSY, default: 0] > 100, "\(events)")
        #expect(events[SY_EVENT_INSERT_RATE_LIMITED, default: 0] > 100, "\(events)")
        #expect(events[SY_EVENT_FLOW_TORN, default: 0] > 0, "\(events)")
        #expect(remoteBusy > 0, "some remote installs met busy sets")
        for kind in [FlowTableReport.Kind.new, .refresh, .fin, .rst] {
            #expect(reports[kind, default: 0] > 50, "\(kind): \(reports)")
        }
        #expect(harness.model.flows.count > 900, "the table stays nearly full: \(harness.model.flows.count)")
    }

    /// A stateful flow whose two candidate sets hold only busy flows gets no entry, in the model
    /// and the kernel alike: counted (`flow_set_busy`) and, past its SYN, reported NEW so the
    /// store still shares it. The harness compares the kernel's ring-buffer reports with the
    /// model's after every packet.
    @Test func statefulFlowWithBothSetsBusyIsStillReported() throws {
        let harness = try DifferentialHarness(
            tables: DatapathTables(config: SelftestConfig.config()), flowCapacity: 4,
            now: DatapathTime(jiffies: 1_000, coarseNs: 1_000 * Self.nsPerJiffy))
        #expect(harness.model.flows.layout.slots == 8, "one set of eight ways: both candidates of every key")
        try harness.setFlowPolicy(.init(evictIdle: 1_000))
        var mismatches: [String] = []
        for i in 0..<8 {
            let frame = try PacketSpec.parse("tcp [2001:db8::\(i + 10)]:40000 > [2001:db8:200::10]:80 A").frame()
            if let mismatch = try harness.run(frame) { mismatches.append(mismatch.description) }
        }
        #expect(harness.model.flows.count == 8)
        let flow = "tcp [2001:db8::2]:40000 > [2001:db8:200::10]:80"
        var results: [PipelineResult] = []
        for flags in ["S", "A", "A"] {
            if let mismatch = try harness.run(try PacketSpec.parse("\(flow) \(flags)").frame()) {
                mismatches.append(mismatch.description)
            }
            if let result = harness.lastResult { results.append(result) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.first ?? "")")
        #expect(results.map { $0.events[SY_EVENT_FLOW_SET_BUSY, default: 0] } == [1, 1, 1])
        #expect(results.map { $0.reports.map(\.kind) } == [[], [.new], [.new]], "SYN: no report; each ACK: NEW")
        #expect(results.allSatisfy { $0.decision?.flow == .ringOnly })
        #expect(try harness.compareFlowTables().isEmpty)
    }

    /// A node receiving a stateful entry from the store while both of its candidate sets hold busy
    /// flows keeps it in the overflow, and the flow's packets find it there — in the model and the
    /// kernel alike (a crowded joining node otherwise re-picks shared flows by Maglev).
    @Test func remoteEntryWithBothSetsBusyIsHonouredFromTheOverflow() throws {
        let harness = try DifferentialHarness(
            tables: DatapathTables(config: SelftestConfig.config()), flowCapacity: 4,
            now: DatapathTime(jiffies: 1_000, coarseNs: 1_000 * Self.nsPerJiffy))
        try harness.setFlowPolicy(.init(evictIdle: 1_000))
        var mismatches: [String] = []
        for i in 0..<8 {
            let frame = try PacketSpec.parse("tcp [2001:db8::\(i + 10)]:40000 > [2001:db8:200::10]:80 A").frame()
            if let mismatch = try harness.run(frame) { mismatches.append(mismatch.description) }
        }
        let shared = try #require(harness.model.flows.entries.values.first, "the table holds the busy flows")
        let key = FlowKey(
            source: .v6(IPv6Address("2001:db8::2")!), destination: .v6(IPv6Address("2001:db8:200::10")!),
            sourcePort: 40000, destinationPort: 80, proto: 6)
        let installed = try harness.installFlows([key: shared], remote: true, protect: 100)
        #expect(installed.model == installed.kernel)
        #expect(installed.kernel.busy == 1, "both candidate sets are busy")
        #expect(harness.model.flows.overflow == [key: .init(shared, flags: .remote, synced: harness.now.jiffies32)])
        #expect(try harness.compareFlowTables().isEmpty, "the kernel's overflow holds the same entry")
        if let mismatch = try harness.run(
            try PacketSpec.parse("tcp [2001:db8::2]:40000 > [2001:db8:200::10]:80 A").frame())
        {
            mismatches.append(mismatch.description)
        }
        #expect(mismatches.isEmpty, "\(mismatches.first ?? "")")
        #expect(harness.lastResult?.decision?.flow == .hit, "found in the overflow, not re-picked by the ring")
        #expect(harness.lastResult?.decision?.backend == shared.backend)
    }

    /// This node's own flow that found both candidate sets busy: its NEW report goes back to the
    /// agent (`keepOwnFlows`), which keeps it in the overflow; the next packet finds it there and
    /// is no longer re-picked by the ring (a ring change would have moved it: the lab saw such
    /// connections reset after a backend was added to 90%-full tables). A way freed meanwhile
    /// takes the flow instead; a flow the datapath placed itself is left alone. Model and kernel
    /// alike.
    @Test func ownFlowWithBothSetsBusyIsKeptByTheAgent() throws {
        let harness = try DifferentialHarness(
            tables: DatapathTables(config: SelftestConfig.config()), flowCapacity: 4,
            now: DatapathTime(jiffies: 1_000, coarseNs: 1_000 * Self.nsPerJiffy))
        try harness.setFlowPolicy(.init(evictIdle: 1_000, syncRefresh: 100))
        var mismatches: [String] = []
        func run(_ spec: String) throws -> PipelineResult? {
            if let mismatch = try harness.run(try PacketSpec.parse(spec).frame()) {
                mismatches.append(mismatch.description)
            }
            return harness.lastResult
        }
        for i in 0..<8 { _ = try run("tcp [2001:db8::\(i + 10)]:40000 > [2001:db8:200::10]:80 A") }
        let flow = "tcp [2001:db8::2]:40000 > [2001:db8:200::10]:80"
        _ = try run("\(flow) S")
        let report = try #require(try run("\(flow) A")?.reports.first, "the ACK of a flow with no way is reported")
        #expect(report.kind == .new)
        let entry = DatapathTables.FlowEntry(backend: report.backend, service: report.service)

        let kept = try harness.keepOwnFlows([report.key: entry])
        #expect(kept.model == kept.kernel)
        #expect(kept.kernel.busy == 1 && kept.kernel.written == 0, "both sets still busy: the overflow")
        #expect(harness.model.flows.overflow == [report.key: .init(entry, flags: [], synced: harness.now.jiffies32)])
        #expect(try harness.compareFlowTables().isEmpty, "the kernel's overflow holds the same entry")
        let next = try run("\(flow) A")
        #expect(next?.decision?.flow == .hit, "found in the overflow, not re-picked by the ring")
        #expect(next?.decision?.backend == entry.backend)
        #expect(next?.reports.isEmpty == true, "kept: no more NEW reports per packet")
        // Carried from the overflow, the flow is reported as from a way: refreshed once per
        // period, ended by its FIN (then quiet), so its store entry lives as long as it does.
        try harness.advance(jiffies: 150)
        #expect(try run("\(flow) A")?.reports.map(\.kind) == [.refresh])
        #expect(try run("\(flow) A")?.reports.isEmpty == true, "once per period")
        #expect(try run("\(flow) FA")?.reports.map(\.kind) == [.fin])
        #expect(try run("\(flow) A")?.reports.isEmpty == true, "ended: quiet")
        #expect(harness.model.flows.overflow[report.key]?.flags == .closing)
        #expect(try harness.compareFlowTables().isEmpty, "the kernel's overflow entry moved alike")

        // Flows the datapath placed itself are left alone (no write, whatever the report says).
        let busyFlow = try #require(harness.model.flows.entries.first)
        let moved = DatapathTables.FlowEntry(backend: busyFlow.value.backend &+ 1, service: busyFlow.value.service)
        let present = try harness.keepOwnFlows([busyFlow.key: moved])
        #expect(present.model == present.kernel && present.kernel.present == 1)
        #expect(harness.model.flows.entries[busyFlow.key] == busyFlow.value)

        // Once the busy flows have been idle long enough, the next such flow gets a way instead.
        try harness.advance(jiffies: 2_000)
        let later = FlowKey(
            source: .v6(IPv6Address("2001:db8::3")!), destination: .v6(IPv6Address("2001:db8:200::10")!),
            sourcePort: 40000, destinationPort: 80, proto: 6)
        let placed = try harness.keepOwnFlows([later: entry])
        #expect(placed.model == placed.kernel && placed.kernel.written == 1)
        #expect(harness.model.flows.entries[later] == entry)
        #expect(try harness.compareFlowTables().isEmpty)
        #expect(mismatches.isEmpty, "\(mismatches.first ?? "")")
    }

    /// Where inserts went, judged on the model's table before and after the packet.
    struct PlacementTally: CustomStringConvertible {
        var intoSecond = 0
        var evictedFromFirst = 0
        var evictedFromSecond = 0

        mutating func count(_ decision: Decision, before: FlowTableModel, after: FlowTableModel) {
            let candidates = before.candidateSets(decision.flowHash)
            guard candidates.indices.first != candidates.indices.second,
                let found = after.find(decision.flowKey, hash: decision.flowHash)
            else { return }
            let wasPresent = before.find(decision.flowKey, hash: decision.flowHash) != nil
            let inSecond = found.place.set == candidates.indices.second
            if inSecond { intoSecond += 1 }
            guard !wasPresent, candidates.first.emptyWayCount == 0, candidates.second.emptyWayCount == 0 else { return }
            if inSecond { evictedFromSecond += 1 } else { evictedFromFirst += 1 }
        }

        var description: String {
            "\(intoSecond) into second sets; evictions with both sets full: \(evictedFromFirst) from the first,"
                + " \(evictedFromSecond) from the second"
        }
    }

    /// Breaks the check of one occupied way in both tables, as two CPUs writing one way would.
    private func tearAnEntry(_ harness: DifferentialHarness, _ rng: inout SplitMix64) throws {
        let occupied = harness.model.flows.sets.sorted { $0.key < $1.key }
        guard !occupied.isEmpty else { return }
        let (index, set) = occupied[Int(rng.next() % UInt64(occupied.count))]
        var torn = set
        guard let w = torn.ways.firstIndex(where: { $0 != nil }) else { return }
        torn.ways[w]?.backend ^= 1
        try harness.replaceFlowSet(index, with: torn)
    }

    /// A few entries "from another node": some for flows the traffic uses, some new.
    private func remoteFlows(_ harness: DifferentialHarness, _ rng: inout SplitMix64)
        -> [FlowKey: DatapathTables.FlowEntry]
    {
        guard let (key, service) = harness.model.services.first(where: { $0.value.stateful }),
            let ring = harness.model.rings[service.id]
        else { return [:] }
        var flows: [FlowKey: DatapathTables.FlowEntry] = [:]
        for _ in 0..<20 {
            let n = UInt32(truncatingIfNeeded: rng.next() % 30_000)
            let client: IPAddress =
                key.vip.family == .v4
                ? .v4(IPv4Address(10, 90 + UInt8(n >> 16 & 0x3), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)))
                : .v6(IPv6Address(high: 0x2001_0db8_0900_0000, low: UInt64(n)))
            let flow = FlowKey(
                source: client, destination: key.vip, sourcePort: UInt16(1024 + n % 5000),
                destinationPort: key.port, proto: key.proto.rawValue)
            let backend = ring[Int(rng.next() % UInt64(ring.count))]
            flows[flow] = .init(backend: backend == SY_BACKEND_NONE ? 0 : backend, service: service.id)
        }
        return flows
    }
}
