import DatapathModel
import Glibc
import SwitchyardABI
import SwitchyardCore

/// The tables one BPF object is measured on, loaded and preloaded, and the cases that run on
/// them. Preloaded flows go in as SYNs through the LB program itself (BPF_PROG_TEST_RUN), so
/// every table is filled by the datapath's own insert and victim rule.
final class BenchSetup {
    let runners: [BenchRunner]
    let passProgram: Int32
    let establishedFrame: [UInt8]
    private let datapaths: [LBDatapath]

    /// Each purpose draws its flows from its own seed, so a table's preloaded flows and the new
    /// flows sent into it are disjoint index ranges of one seed (`BenchFlows`).
    enum Seed {
        static let roundRobin: UInt64 = 1, newFlow: UInt64 = 2, halfFull: UInt64 = 3, small: UInt64 = 4
        static let medium: UInt64 = 5, flood: UInt64 = 6, coldRead: UInt64 = 7, fill: UInt64 = 8, lru: UInt64 = 9
        static let pick: UInt64 = 10
    }

    static let vip = IPv4Address(10, 200, 0, 10)
    static let synSpec = "tcp 11.0.0.1:32768 > 10.200.0.10:80 S"
    static let ackSpec = "tcp 11.0.0.1:32768 > 10.200.0.10:80 A len=64"
    static let roundRobinFlows = 10_000

    /// The services every case runs against; `fixedMACs: false` leaves the next hop to
    /// bpf_fib_lookup (the default when a config gives no MACs).
    static func config(fixedMACs: Bool = true) -> SwitchyardConfig {
        let v4 = (1...16).map { Backend(address: .v4(IPv4Address(10, 1, 0, UInt8($0))), port: 80) }
        let v6 = (1...16).map { Backend(address: .v6(IPv6Address("fd00:1::\($0)")!), port: 80) }
        let node = NodeSettings(
            name: "bench", ipv4Source: FIBNamespace.nodeAddress,
            ipv6Source: IPv6Address("fd00::11"),
            sourceMAC: fixedMACs ? MACAddress("02:00:00:00:00:11") : nil,
            nextHopMAC: fixedMACs ? MACAddress("02:00:00:00:00:fe") : nil)
        let tcp80 = { (vip: String) in ServiceKey(vip: IPAddress(vip)!, port: 80, proto: .tcp) }
        return SwitchyardConfig(
            node: node,
            services: [
                Service(name: "v4", key: tcp80("10.200.0.10"), backends: v4),
                Service(name: "v6", key: tcp80("2001:db8:200::10"), backends: v6),
                Service(name: "gue", key: tcp80("10.200.0.11"), encap: .gue, backends: v4),
                Service(name: "src", key: tcp80("10.200.0.12"), flowKey: .sourceIP, backends: v4),
            ])
    }

    /// A loaded LB program with the bench services; `evictIdle` in jiffies (0: always the oldest).
    static func datapath(
        capacity: Int, object: String?, fixedMACs: Bool = true,
        evictIdle: UInt32 = 0
    ) throws -> LBDatapath {
        let d = try LBDatapath(options: .init(flowCapacity: capacity, objectPath: object))
        let tables = DatapathTables(config: config(fixedMACs: fixedMACs))
        try DatapathWriter(datapath: d, evictIdle: evictIdle).apply(tables)
        return d
    }

    /// Sends SYNs of flows `range` of `flows` through the program: each inserts its flow.
    static func preload(_ d: LBDatapath, _ flows: BenchFlows, _ range: Range<Int>) throws {
        let syn = try FrameTemplate(synSpec)
        for i in range { _ = try BenchCall.run(program: d.programFD, frame: syn.frame(flows.client(i))) }
    }

    /// Entries present (the datapath's own check word holds).
    static func held(_ d: LBDatapath) throws -> Int {
        var count = 0
        try FlowTable(datapath: d).scan { _, _, _ in count += 1 }
        return count
    }

    static func slots(_ d: LBDatapath) -> Int { d.flowLayout.slots }

    static func events(_ d: LBDatapath, _ event: sy_event) throws -> UInt64 {
        try d.events.lookupPerCPU(UInt32(event.rawValue), as: UInt64.self)?.reduce(0, +) ?? 0
    }

    init(
        object: String?, label: String, bench: DatapathBench, calls: Int, largeFilled: LBDatapath?,
        namespace: FIBNamespace?, namespaceError: String?
    ) throws {
        let large = bench.largeTable
        let sizeLabel = DatapathBench.label(large)
        let idSuffix = label.isEmpty ? "" : "_b"
        let syn = try FrameTemplate(Self.synSpec)
        let ack = try FrameTemplate(Self.ackSpec)
        let frame = { (spec: String) in try PacketSpec.parse(spec).frame() }
        func fresh(_ seed: UInt64, from start: Int = 0) -> [[UInt8]] {
            let flows = BenchFlows(seed: seed)
            return (start..<start + calls).map { syn.frame(flows.client($0)) }
        }
        var runners: [BenchRunner] = []
        func add(
            _ id: String, _ name: String, _ d: LBDatapath, _ frames: [[UInt8]], program: Int32? = nil,
            note: String? = nil
        ) {
            runners.append(
                BenchRunner(
                    id: id + idSuffix, name: name + label, program: program ?? d.programFD,
                    frames: frames, note: note))
        }
        typealias ID = DatapathBench.CaseID

        // The large table: one-flow cases, 10k flows round-robin, new flows into a nearly empty table.
        let main = try Self.datapath(capacity: large, object: object)
        let established = try frame("tcp 10.0.1.2:40000 > 10.200.0.10:80 A len=64")
        let established6 = try frame("tcp [2001:db8::2]:40000 > [2001:db8:200::10]:80 A len=64")
        let gue = try frame("tcp 10.0.1.2:40000 > 10.200.0.11:80 A len=64")
        let source = try frame("tcp 10.0.1.2:40000 > 10.200.0.12:80 A len=64")
        for f in [established, established6, gue, source] { _ = try BenchCall.run(program: main.programFD, frame: f) }
        let rr = BenchFlows(seed: Seed.roundRobin)
        try Self.preload(main, rr, 0..<Self.roundRobinFlows)
        let rrMissing = try (0..<Self.roundRobinFlows).filter {
            try FlowTable(datapath: main).lookup(rr.key($0, vip: Self.vip, port: 80)) == nil
        }.count
        passProgram = main.passProgramFD
        establishedFrame = established

        // FIB: the same flow, with MACs from the namespace's FIB instead of the config — cached per
        // backend as the agent runs it (a current generation), and asked on every packet
        // (generation 0, as while no agent follows neighbour changes).
        let fibTable = try Self.datapath(capacity: 4096, object: object, fixedMACs: false)
        try fibTable.fibGeneration.update(UInt32(0), UInt32(1))
        let fibNote = try Self.checkFIB(fibTable, frame: established, namespace: namespace, error: namespaceError)
        let fibEvery = try Self.datapath(capacity: 4096, object: object, fixedMACs: false)
        let fibEveryNote = try Self.checkFIB(fibEvery, frame: established, namespace: namespace, error: namespaceError)

        // The large table holding N random flows (the fill test's, when it ran at this size).
        let filled =
            try largeFilled
            ?? {
                let d = try Self.datapath(capacity: large, object: object)
                try Self.preload(d, BenchFlows(seed: Seed.fill), 0..<large)
                return d
            }()
        var held: [(address: UInt32, port: UInt16)] = []
        try FlowTable(datapath: filled).scan { key, _, _ in
            if case .v4(let a) = key.source { held.append((a.value, key.sourcePort)) }
        }
        var pick = SplitMix64(seed: Seed.pick)
        let sample = held.isEmpty ? [] : (0..<calls).map { _ in held[Int(pick.next() % UInt64(held.count))] }

        let half = try Self.datapath(capacity: large, object: object)
        try Self.preload(half, BenchFlows(seed: Seed.halfFull), 0..<large / 2)

        let small = try Self.datapath(capacity: 4096, object: object)
        try Self.preload(small, BenchFlows(seed: Seed.small), 0..<2 * Self.slots(small))
        let medium = try Self.datapath(capacity: 1 << 16, object: object)
        let (flood, floodNext, floodHeld) = try Self.fullOfLiveFlows(capacity: large, object: object)

        add(ID.nonVIP, "non-VIP pass", main, [try frame("tcp 10.0.1.2:40000 > 10.99.0.1:80 A len=64")])
        add(ID.establishedV4, "established v4", main, [established])
        add(ID.establishedV6, "established v6", main, [established6])
        add(ID.gue, "GUE established", main, [gue])
        add(ID.sourceIP, "sourceIP key established", main, [source])
        add(ID.fib, "established v4, next hop cached from the FIB", fibTable, [established], note: fibNote)
        add(ID.fibEvery, "established v4, bpf_fib_lookup every packet", fibEvery, [established], note: fibEveryNote)
        add(
            ID.roundRobin, "established, 10k flows round-robin", main,
            (0..<Self.roundRobinFlows).map { ack.frame(rr.client($0)) },
            note: rrMissing == 0 ? nil : "\(rrMissing) of the 10k flows were not held: their packets insert")
        add(
            ID.largeRandom, "established, \(sizeLabel) random flows (\(sizeLabel) table)", filled,
            sample.map(ack.frame), note: "random picks among the \(held.count) flows held")
        add(ID.newFlow, "new flow (SYN + insert), \(sizeLabel) table", main, fresh(Seed.newFlow))
        add(
            ID.newFlowHalfFull, "new flow, half-full \(sizeLabel) table (\(DatapathBench.label(large / 2)))", half,
            fresh(Seed.halfFull, from: large / 2))
        add(ID.newFlowMedium, "new flow, 64K-entry table", medium, fresh(Seed.medium))
        add(
            ID.newFlowSmallFull, "new flow, full 4096-entry table (evicts)", small,
            fresh(Seed.small, from: 2 * Self.slots(small)))
        add(
            ID.synFlood, "spoofed SYN flood, full \(sizeLabel) table (live flows)", flood,
            fresh(Seed.flood, from: floodNext),
            note: String(
                format: "table %.2f%% full; every flow counts as live (evict-idle beyond the run)",
                100 * Double(floodHeld) / Double(Self.slots(flood))))
        add(
            ID.coldRead, "one flow-set read, \(sizeLabel) table (memory)", main, fresh(Seed.coldRead),
            program: main.coldReadProgramFD)
        if let pair = main.coldReadPairProgramFD {
            add(
                ID.coldReadPair, "both candidate sets' tag lines, \(sizeLabel) table", main, fresh(Seed.coldRead),
                program: pair)
        }
        if let floor = main.forwardFloorProgramFD {
            add(ID.forwardFloor, "encapsulation alone (no lookup)", main, [established], program: floor)
        }
        self.runners = runners
        datapaths = [main, fibTable, fibEvery, filled, half, small, medium, flood]
    }

    /// A table of `capacity` whose every way holds a flow, preloaded through the program. SYNs
    /// are sent only for flows with an empty way in one of their two candidate sets (the set the
    /// insert takes is predicted with the model's layout and rule: the one with more empty
    /// ways), so filling costs one program run per way. Evict-idle is set beyond any run:
    /// every preloaded flow stays live, as busy connections would be, and a flood cannot take
    /// their ways. Returns the table, the first flow index not used, and the entries held.
    static func fullOfLiveFlows(capacity: Int, object: String?) throws -> (LBDatapath, next: Int, held: Int) {
        let d = try datapath(capacity: capacity, object: object, evictIdle: UInt32(Int32.max))
        let flows = BenchFlows(seed: Seed.flood)
        let syn = try FrameTemplate(synSpec)
        let sets = d.flowLayout.setCount
        let ways = UInt8(SY_FLOW_WAYS)
        var fill = [UInt8](repeating: 0, count: sets)
        var full = 0
        var i = 0
        while full < sets && i < sets * 64 {
            let candidates = d.flowLayout.candidates(flows.key(i, vip: vip, port: 80).hash)
            let (first, second) = (Int(candidates.first), Int(candidates.second))
            let set = fill[second] < fill[first] ? second : first
            if fill[set] < ways {
                _ = try BenchCall.run(program: d.programFD, frame: syn.frame(flows.client(i)))
                fill[set] += 1
                if fill[set] == ways { full += 1 }
            }
            i += 1
        }
        return (d, i, try held(d))
    }

    /// Runs `frame` once through the FIB-path table and says whether bpf_fib_lookup answered
    /// (the output carries the namespace's neighbour MAC) or the program fell back to swapping.
    static func checkFIB(_ d: LBDatapath, frame: [UInt8], namespace: FIBNamespace?, error: String?) throws -> String {
        let misses = try events(d, SY_EVENT_FIB_MISS)
        let out = try TestRun.run(program: d.programFD, frame: frame)
        let missed = try events(d, SY_EVENT_FIB_MISS) - misses
        let answered = out.action == TestRun.xdpTX && Array(out.output.prefix(6)) == FIBNamespace.gatewayMAC.bytes
        if answered, namespace != nil { return "FIB answered from the bench's private namespace (neighbour MAC set)" }
        let place =
            namespace == nil
            ? "the calling namespace (no private one: \(error ?? "unknown"))" : "the private namespace"
        return "FALLBACK: no FIB answer in \(place), \(missed) fib_miss; MACs swapped, so this measures the fallback"
    }
}
