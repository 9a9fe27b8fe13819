import CLibbpf
import DatapathModel
import Glibc
import SwitchyardCore

/// Kernel ns/packet of the LB program per case, by BPF_PROG_TEST_RUN with `repeat = 1` (each
/// run gets a fresh copy of the packet: with `repeat > 1` the kernel re-runs the program on its
/// own output). The harness floor — the same syscall running an empty XDP program — is measured
/// in the same run, interleaved with the cases, and subtracted. Medians; pinned to one CPU.
///
/// A second baseline shows what memory costs: a program that only reads one flow set of the
/// 1M-entry table (80 MB, far beyond the caches and the TLB's reach), at a random set per packet
/// like a new flow's probe. A new flow in that table cannot cost less than this one read. A third
/// is the kernel's LRU hash map at the same size (what other XDP balancers keep flows in) doing
/// only a new flow's table step: lookup, miss, insert.
public struct DatapathBench {
    public struct Case: Sendable {
        public var name: String
        public var grossNs: Double
        public var floorNs: Double
        public var netNs: Double { grossNs - floorNs }
    }

    public var samples: Int
    public var cpu: Int
    public var objectPath: String?
    /// A second BPF object measured in the same run, interleaved (its cases are marked [B]).
    public var compareObjectPath: String?
    /// Flows written into the 1M-entry table before measuring.
    public var preload: Int

    public init(
        samples: Int = 20000, cpu: Int = 0, objectPath: String? = nil, compareObjectPath: String? = nil,
        preload: Int = 0
    ) {
        self.samples = samples
        self.cpu = cpu
        self.objectPath = objectPath
        self.compareObjectPath = compareObjectPath
        self.preload = preload
    }

    static let config: SwitchyardConfig = {
        let v4 = (1...16).map { Backend(address: .v4(IPv4Address(10, 1, 0, UInt8($0))), port: 80) }
        let v6 = (1...16).map { Backend(address: IPAddress("fd00:1::\($0)")!, port: 80) }
        return SwitchyardConfig(
            node: NodeSettings(
                name: "bench", ipv4Source: IPv4Address(10, 0, 0, 11), ipv6Source: IPv6Address("fd00::11"),
                sourceMAC: MACAddress("02:00:00:00:00:11"), nextHopMAC: MACAddress("02:00:00:00:00:fe")),
            services: [
                Service(
                    name: "v4", key: ServiceKey(vip: IPAddress("10.200.0.10")!, port: 80, proto: .tcp), backends: v4),
                Service(
                    name: "v6", key: ServiceKey(vip: IPAddress("2001:db8:200::10")!, port: 80, proto: .tcp),
                    backends: v6),
                Service(
                    name: "gue", key: ServiceKey(vip: IPAddress("10.200.0.11")!, port: 80, proto: .tcp), encap: .gue,
                    backends: v4),
                Service(
                    name: "src", key: ServiceKey(vip: IPAddress("10.200.0.12")!, port: 80, proto: .tcp),
                    flowKey: .sourceIP, backends: v4),
            ])
    }()

    public func run() throws -> [Case] {
        var mask: [UInt] = Array(repeating: 0, count: 16)
        mask[cpu / 64] = 1 << (cpu % 64)
        _ = sched_setaffinity(0, UInt(mask.count * 8), mask)

        var runners = [Runner]()
        var keep = [AnyObject]()
        for (object, label) in [(objectPath, "")] + (compareObjectPath.map { [($0, " [B]")] } ?? []) {
            let (made, datapaths) = try Self.runners(object: object, label: label, samples: samples, preload: preload)
            runners += runners.isEmpty ? made : Array(made.dropFirst())
            keep += datapaths
        }
        let reference = try ReferenceObject()
        keep.append(reference)
        runners.append(
            Runner(
                name: Self.referenceLRU, program: reference.lruProgramFD,
                frames: (0..<samples).map { Self.syn(5_000_000 + $0) }))
        // Interleave: one sample of each case in turn, so drift hits all cases alike.
        for i in 0..<samples {
            for r in runners.indices {
                let f = runners[r].frames[i % runners[r].frames.count]
                runners[r].gross.append(try TestRun.run(program: runners[r].program, frame: f).durationNs)
            }
        }
        withExtendedLifetime(keep) {}
        func median(_ xs: [UInt32]) -> Double {
            let s = xs.sorted()
            return Double(s[s.count / 2])
        }
        let floor = median(runners[0].gross)
        return runners.dropFirst().map { Case(name: $0.name, grossNs: median($0.gross), floorNs: floor) }
    }

    /// The case that reads one flow set of the 1M-entry table and nothing else.
    public static let coldRead = "one flow-set read, 1M table (memory)"
    /// The kernel's LRU hash (1M entries) doing a new flow's table step: lookup, miss, insert.
    public static let referenceLRU = "kernel LRU hash 1M: miss + insert"

    static func frame(_ spec: String) -> [UInt8] { try! PacketSpec.parse(spec).frame() }
    static func syn(_ i: Int, vip: String = "10.200.0.10") -> [UInt8] {
        frame("tcp 10.\(64 + i / 62500).\(i / 250 % 250).\(i % 250 + 1):\(1024 + i % 50000) > \(vip):80 S")
    }

    /// bpf/reference.c, loaded for the benchmark only.
    final class ReferenceObject {
        let lruProgramFD: Int32
        private let object: OpaquePointer

        init() throws {
            let object = try openBPFObject(EmbeddedObject.reference.bytes, "reference")
            self.object = object
            guard bpf_object__load(object) == 0,
                let program = bpf_object__find_program_by_name(object, "switchyard_reference_lru")
            else {
                bpf_object__close(object)
                throw BPFError("load the reference object", errno: Glibc.errno)
            }
            lruProgramFD = bpf_program__fd(program)
        }

        deinit { bpf_object__close(object) }
    }

    struct Runner {
        var name: String
        var program: Int32
        var frames: [[UInt8]]
        var gross: [UInt32] = []
    }

    static func runners(object: String?, label: String, samples: Int, preload: Int) throws -> ([Runner], [LBDatapath]) {
        let tables = DatapathTables(config: Self.config)
        let main = try LBDatapath(options: .init(flowCapacity: 1 << 20, objectPath: object))
        try DatapathWriter(datapath: main).apply(tables)
        // A small table, filled, so every new flow evicts one.
        let small = try LBDatapath(options: .init(flowCapacity: 4096, objectPath: object))
        try DatapathWriter(datapath: small).apply(tables)
        // A 5 MB table (64K entries): how the new-flow cost grows with the table's size.
        let medium = try LBDatapath(options: .init(flowCapacity: 1 << 16, objectPath: object))
        try DatapathWriter(datapath: medium).apply(tables)

        let frame = Self.frame
        let syn = { Self.syn($0) }
        for i in 0..<8192 { _ = try TestRun.run(program: small.programFD, frame: syn(1_000_000 + i)) }
        if preload > 0 {
            var flows: [FlowKey: DatapathTables.FlowEntry] = [:]
            for i in 0..<preload {
                let k = FlowKey(
                    source: .v4(IPv4Address(11, UInt8(i >> 16 & 255), UInt8(i >> 8 & 255), UInt8(i & 255))),
                    destination: IPAddress("10.200.0.10")!, sourcePort: UInt16(1024 + i % 50000), destinationPort: 80,
                    proto: 6)
                flows[k] = .init(backend: 1, service: 1)
            }
            try FlowTable(datapath: main).install(flows)
        }

        let established = frame("tcp 10.0.1.2:40000 > 10.200.0.10:80 A len=64")
        let established6 = frame("tcp [2001:db8::2]:40000 > [2001:db8:200::10]:80 A len=64")
        let gue = frame("tcp 10.0.1.2:40000 > 10.200.0.11:80 A len=64")
        let source = frame("tcp 10.0.1.2:40000 > 10.200.0.12:80 A len=64")
        for f in [established, established6, gue, source] { _ = try TestRun.run(program: main.programFD, frame: f) }
        let runners = [
            Runner(name: "floor (empty XDP program)", program: main.passProgramFD, frames: [established]),
            Runner(
                name: "non-VIP pass" + label, program: main.programFD,
                frames: [frame("tcp 10.0.1.2:40000 > 10.99.0.1:80 A len=64")]),
            Runner(name: "established v4" + label, program: main.programFD, frames: [established]),
            Runner(name: "established v6" + label, program: main.programFD, frames: [established6]),
            Runner(
                name: "new flow (SYN + insert)" + label, program: main.programFD, frames: (0..<samples).map { syn($0) }),
            Runner(
                name: "new flow, full table (evicts)" + label, program: small.programFD,
                frames: (0..<samples).map { syn(2_000_000 + $0) }),
            Runner(
                name: "new flow, 64K-entry table" + label, program: medium.programFD,
                frames: (0..<samples).map { syn(3_000_000 + $0) }),
            Runner(
                name: Self.coldRead + label, program: main.coldReadProgramFD,
                frames: (0..<samples).map { syn(4_000_000 + $0) }),
            Runner(name: "GUE established" + label, program: main.programFD, frames: [gue]),
            Runner(name: "sourceIP key established" + label, program: main.programFD, frames: [source]),
        ]
        return (runners, [main, small, medium])
    }
}
