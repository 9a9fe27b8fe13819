import CLibbpf
import DatapathModel
import Glibc
import SwitchyardCore

/// Kernel ns/packet of the LB program per case, by BPF_PROG_TEST_RUN with `repeat = 1` (each
/// run gets a fresh copy of the packet: with `repeat > 1` the kernel re-runs the program on its
/// own output). The harness floor — the same syscall running an empty XDP program — is measured
/// in the same run, interleaved with the cases, and subtracted. Medians; pinned to one CPU.
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

    public init(samples: Int = 20000, cpu: Int = 0, objectPath: String? = nil) {
        self.samples = samples
        self.cpu = cpu
        self.objectPath = objectPath
    }

    static let config: SwitchyardConfig = {
        let v4 = (1...16).map { Backend(address: .v4(IPv4Address(10, 1, 0, UInt8($0))), port: 80) }
        let v6 = (1...16).map { Backend(address: IPAddress("fd00:1::\($0)")!, port: 80) }
        return SwitchyardConfig(
            node: NodeSettings(name: "bench", ipv4Source: IPv4Address(10, 0, 0, 11), ipv6Source: IPv6Address("fd00::11"),
                               sourceMAC: MACAddress("02:00:00:00:00:11"), nextHopMAC: MACAddress("02:00:00:00:00:fe")),
            services: [
                Service(name: "v4", key: ServiceKey(vip: IPAddress("10.200.0.10")!, port: 80, proto: .tcp), backends: v4),
                Service(name: "v6", key: ServiceKey(vip: IPAddress("2001:db8:200::10")!, port: 80, proto: .tcp), backends: v6),
                Service(name: "gue", key: ServiceKey(vip: IPAddress("10.200.0.11")!, port: 80, proto: .tcp), encap: .gue, backends: v4),
                Service(name: "src", key: ServiceKey(vip: IPAddress("10.200.0.12")!, port: 80, proto: .tcp), flowKey: .sourceIP, backends: v4),
            ])
    }()

    public func run() throws -> [Case] {
        var mask: [UInt] = Array(repeating: 0, count: 16)
        mask[cpu / 64] = 1 << (cpu % 64)
        _ = sched_setaffinity(0, UInt(mask.count * 8), mask)

        let tables = DatapathTables(config: Self.config)
        let main = try LBDatapath(options: .init(flowCapacity: 1 << 20, objectPath: objectPath))
        try DatapathWriter(datapath: main).apply(tables)
        // A small table, filled, so every new flow evicts one.
        let small = try LBDatapath(options: .init(flowCapacity: 4096, objectPath: objectPath))
        try DatapathWriter(datapath: small).apply(tables)

        func frame(_ spec: String) -> [UInt8] { try! PacketSpec.parse(spec).frame() }
        func syn(_ i: Int, vip: String = "10.200.0.10") -> [UInt8] {
            frame("tcp 10.\(64 + i / 62500).\(i / 250 % 250).\(i % 250 + 1):\(1024 + i % 50000) > \(vip):80 S")
        }
        for i in 0..<8192 { _ = try TestRun.run(program: small.programFD, frame: syn(1_000_000 + i)) }

        struct Runner {
            var name: String
            var program: Int32
            var frames: [[UInt8]]
            var gross: [UInt32] = []
        }
        let established = frame("tcp 10.0.1.2:40000 > 10.200.0.10:80 A len=64")
        let established6 = frame("tcp [2001:db8::2]:40000 > [2001:db8:200::10]:80 A len=64")
        let gue = frame("tcp 10.0.1.2:40000 > 10.200.0.11:80 A len=64")
        let source = frame("tcp 10.0.1.2:40000 > 10.200.0.12:80 A len=64")
        for f in [established, established6, gue, source] { _ = try TestRun.run(program: main.programFD, frame: f) }
        var runners = [
            Runner(name: "floor (empty XDP program)", program: main.passProgramFD, frames: [established]),
            Runner(name: "non-VIP pass", program: main.programFD, frames: [frame("tcp 10.0.1.2:40000 > 10.99.0.1:80 A len=64")]),
            Runner(name: "established v4", program: main.programFD, frames: [established]),
            Runner(name: "established v6", program: main.programFD, frames: [established6]),
            Runner(name: "new flow (SYN + insert)", program: main.programFD, frames: (0..<samples).map { syn($0) }),
            Runner(name: "new flow, full table (evicts)", program: small.programFD, frames: (0..<samples).map { syn(2_000_000 + $0) }),
            Runner(name: "GUE established", program: main.programFD, frames: [gue]),
            Runner(name: "sourceIP key established", program: main.programFD, frames: [source]),
        ]
        // Interleave: one sample of each case in turn, so drift hits all cases alike.
        for i in 0..<samples {
            for r in runners.indices {
                let f = runners[r].frames[i % runners[r].frames.count]
                runners[r].gross.append(try TestRun.run(program: runners[r].program, frame: f).durationNs)
            }
        }
        func median(_ xs: [UInt32]) -> Double {
            let s = xs.sorted()
            return Double(s[s.count / 2])
        }
        let floor = median(runners[0].gross)
        return runners.dropFirst().map { Case(name: $0.name, grossNs: median($0.gross), floorNs: floor) }
    }
}
