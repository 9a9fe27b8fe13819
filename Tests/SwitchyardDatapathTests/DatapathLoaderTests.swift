import CLibbpf
import DatapathFixtures
import DatapathModel
import Foundation
import Glibc
import SwitchyardABI
import SwitchyardCore
import Testing

@testable import SwitchyardDatapath

/// Loading, pinning, programming and reading the real maps. Needs BPF (root).
@Suite(.enabled(if: BPFProbe.available, BPFProbe.skipMessage), .serialized)
struct DatapathLoaderTests {
    /// A private bpffs instance for one test, removed afterwards.
    final class PrivateBPFFS {
        let path = "/tmp/switchyard-test-bpffs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        init() throws { try BPFFS.ensureMounted(path) }
        deinit { BPFFS.unmount(path) }
    }

    static func tables() -> DatapathTables { DatapathTables(config: SelftestConfig.config()) }

    /// A process exits, another loads with the same pin directory: it gets the very same maps
    /// (same kernel ids), with the flows and counters the first left.
    @Test func pinnedMapsSurviveAndAreReused() throws {
        let fs = try PrivateBPFFS()
        let frame = try PacketSpec.parse("tcp 10.0.1.2:40000 > 10.200.0.10:80 S").frame()
        var ids: [UInt32] = []
        var flowsBefore: [FlowKey: DatapathTables.FlowEntry] = [:]
        do {
            let first = try LBDatapath(options: .init(flowCapacity: 4096, pinDirectory: fs.path))
            #expect(!first.reusedPinnedMaps)
            try DatapathWriter(datapath: first).apply(Self.tables())
            let run = try TestRun.run(program: first.programFD, frame: frame)
            #expect(run.action == TestRun.xdpTX)
            ids = try [first.flows.id(), first.rings.id(), first.serviceStats.id(), first.services.id()]
            flowsBefore = try FlowTable(datapath: first).all()
            #expect(flowsBefore.count == 1)
        } // the object is closed here, as at process exit: only the pins hold the maps
        let second = try LBDatapath(options: .init(flowCapacity: 4096, pinDirectory: fs.path))
        #expect(second.reusedPinnedMaps)
        #expect(try [second.flows.id(), second.rings.id(), second.serviceStats.id(), second.services.id()] == ids)
        #expect(try FlowTable(datapath: second).all() == flowsBefore)
        // The new program forwards on the old maps without being programmed again.
        let again = try TestRun.run(
            program: second.programFD, frame: try PacketSpec.parse("tcp 10.0.1.2:40000 > 10.200.0.10:80 A").frame())
        #expect(again.action == TestRun.xdpTX)
        let counters = try CounterReader(datapath: second).read(services: [0], backends: [])
        #expect(counters.services[0]?.packets == 2, "counters carried over: \(counters)")
        // A writer over re-used maps removes what the new config no longer has.
        var fewer = Self.tables()
        let dropped = fewer.services.keys.first { $0.port == 443 }!
        fewer.services[dropped] = nil
        try DatapathWriter(datapath: second).apply(fewer)
        #expect(try second.services.keys(as: sy_service_key.self).count == fewer.services.count)
        LBDatapath.unpin(directory: fs.path)
    }

    /// A pinned map this build cannot use as is (here the flow table, resized; after an upgrade, a table
    /// that grew, such as the drop counters when a reason is added) is replaced and reported; the others
    /// are re-used. Without that, libbpf refuses the pin and the agent cannot start.
    @Test func aPinnedMapOfAnotherLayoutIsReplacedAndTheRestReused() throws {
        let fs = try PrivateBPFFS()
        defer { LBDatapath.unpin(directory: fs.path) }
        let servicesID: UInt32
        do {
            let first = try LBDatapath(options: .init(flowCapacity: 4096, pinDirectory: fs.path))
            try DatapathWriter(datapath: first).apply(Self.tables())
            servicesID = try first.services.id()
            #expect(first.replacedPins.isEmpty)
        }
        let resized = try LBDatapath(options: .init(flowCapacity: 65536, pinDirectory: fs.path))
        #expect(resized.replacedPins.count == 1 && resized.replacedPins[0].hasPrefix("sy_flows: entries "))
        let reusedID = try resized.services.id()
        #expect(resized.reusedPinnedMaps && reusedID == servicesID)
    }

    /// The rings in the kernel are the model's rings, slot for slot; a change to one service
    /// swaps that service's ring only.
    @Test func ringsMatchAndOnlyChangedOnesSwap() throws {
        let datapath = try LBDatapath(options: .init(flowCapacity: 4096))
        let writer = DatapathWriter(datapath: datapath)
        var tables = Self.tables()
        let first = try writer.apply(tables)
        #expect(first.ringsSwapped == tables.rings.count)
        for (id, ring) in tables.rings {
            #expect(try kernelRing(datapath, id) == ring, "ring of service \(id)")
        }
        // Take one backend of "web" (port 80) out: only that ring changes.
        let web = tables.serviceID(named: "web/80/tcp")!
        var config = SelftestConfig.config()
        config.services[0].backends[0].state = .down
        tables = DatapathTables(config: config)
        let second = try writer.apply(tables)
        #expect(second.ringsSwapped == 1)
        #expect(second.backendsWritten == 1)
        #expect(try kernelRing(datapath, web) == tables.rings[web])
        #expect(try writer.apply(tables) == DatapathWriter.Changes())
    }

    private func kernelRing(_ datapath: LBDatapath, _ id: UInt32) throws -> [UInt32]? {
        guard let innerID: UInt32 = try datapath.rings.lookup(id, as: UInt32.self) else { return nil }
        let fd = bpf_map_get_fd_by_id(innerID)
        guard fd >= 0 else { throw BPFError("open ring", errno: errno) }
        defer { close(fd) }
        var info = bpf_map_info()
        var length = UInt32(MemoryLayout<bpf_map_info>.size)
        try BPFError.check(bpf_obj_get_info_by_fd(fd, &info, &length), "ring info")
        let ring = BPFMap(fd: fd, name: "ring", keySize: 4, valueSize: 4, perCPU: false)
        return try (0..<info.max_entries).map { try ring.lookup($0, as: UInt32.self)! }
    }

    /// Past the per-CPU insert budget, new flows are still forwarded by the ring, without an
    /// entry, and counted; flows that had entries keep them.
    @Test func insertRateLimitForwardsWithoutInserting() throws {
        let datapath = try LBDatapath(options: .init(flowCapacity: 65536))
        let writer = DatapathWriter(datapath: datapath, newFlowRate: 1000)
        try writer.apply(Self.tables())
        let established = (0..<50).map {
            try! PacketSpec.parse("tcp 10.9.0.\($0 + 1):40000 > 10.200.0.10:80 S").frame()
        }
        for frame in established {
            #expect(try TestRun.run(program: datapath.programFD, frame: frame).action == TestRun.xdpTX)
        }
        var forwarded = 0
        for i in 0..<5000 {
            let frame = try PacketSpec.parse(
                "tcp 10.\(20 + i / 60000).\(i / 250 % 240).\(i % 250 + 1):\(1024 + i % 60000) > 10.200.0.10:80 S"
            ).frame()
            if try TestRun.run(program: datapath.programFD, frame: frame).action == TestRun.xdpTX { forwarded += 1 }
        }
        let entries = try FlowTable(datapath: datapath).all().count
        let limited = try CounterReader(datapath: datapath).events()["insert_rate_limited"] ?? 0
        #expect(forwarded == 5000, "every new flow is still forwarded")
        #expect(
            limited > 0 && entries < 50 + 5000 && UInt64(entries) + limited == 5050,
            "entries \(entries), rate-limited \(limited)")
        for frame in established.map({ $0 }) {
            _ = try TestRun.run(program: datapath.programFD, frame: frame)
        }
        let keys = Set(try FlowTable(datapath: datapath).all().keys)
        let establishedKeys = established.map { frame in
            FlowKey(
                source: IPAddress.read(.v4, from: frame, at: 26), destination: IPAddress("10.200.0.10")!,
                sourcePort: 40000, destinationPort: 80, proto: 6)
        }
        #expect(establishedKeys.allSatisfy { keys.contains($0) }, "established flows keep their entries")
    }

    /// Installing entries from other nodes says what happened to each: written, already present
    /// (an owner's refresh only extends the protection), or skipped because its set was busy.
    @Test func remoteInstallsAreAccountedApart() throws {
        let datapath = try LBDatapath(options: .init(flowCapacity: 16)) // 3 sets of 8
        let writer = DatapathWriter(datapath: datapath, evictIdle: 1_000_000, syncRefresh: 1000)
        try writer.apply(Self.tables())
        func flows(_ range: Range<Int>, backend: UInt32 = 0) -> [FlowKey: DatapathTables.FlowEntry] {
            Dictionary(
                uniqueKeysWithValues: range.map {
                    (
                        FlowKey(
                            source: .v4(IPv4Address(10, 7, UInt8($0 / 250), UInt8($0 % 250 + 1))),
                            destination: IPAddress("10.200.0.10")!,
                            sourcePort: 40000, destinationPort: 80, proto: 6),
                        DatapathTables.FlowEntry(backend: backend, service: 0)
                    )
                })
        }
        let first = try writer.install(flows: flows(0..<8), remote: true)
        #expect(first.written == 8 && first.present == 0 && first.busy == 0, "\(first)")
        let again = try writer.install(flows: flows(0..<8), remote: true)
        #expect(again.written == 0 && again.present == 8 && again.busy == 0, "a refresh writes nothing new: \(again)")
        let moved = try writer.install(flows: flows(0..<2, backend: 1), remote: true)
        #expect(moved.written == 2 && moved.present == 0, "a key on another backend is rewritten: \(moved)")
        // 200 more protected entries cannot fit 24 ways: the table fills, the rest are busy.
        #expect(datapath.flowLayout.slots == 24)
        let flood = try writer.install(flows: flows(100..<300), remote: true)
        #expect(flood.written == 24 - 8 && flood.busy == 200 - 16, "\(flood)")
        // The busy ones wait in the overflow, where the datapath looks for stateful flows with no way.
        #expect(try FlowTable(datapath: datapath).overflow().count == 200 - 16)
        #expect(try FlowTable(datapath: datapath).all().count == 24 + 200 - 16)
    }

    /// A flood of new flows into a small table: with `evictIdle` set, established flows keep
    /// their ways and the flood is forwarded without entries; with 0, the flood evicts them.
    @Test(arguments: [true, false])
    func floodCannotEvictBusyFlows(protected: Bool) throws {
        let datapath = try LBDatapath(options: .init(flowCapacity: 64)) // 10 sets of 8
        let writer = DatapathWriter(datapath: datapath, evictIdle: protected ? 1_000_000 : 0)
        try writer.apply(Self.tables())
        let table = FlowTable(datapath: datapath)
        var established: [FlowKey] = []
        for i in 0..<200 where established.count < 32 {
            let spec = "tcp 10.8.\(i / 250).\(i % 250 + 1):40000 > 10.200.0.10:80 S"
            _ = try TestRun.run(program: datapath.programFD, frame: try PacketSpec.parse(spec).frame())
            let p = try PacketSpec.parse(spec)
            let key = FlowKey(
                source: p.source, destination: p.destination, sourcePort: 40000, destinationPort: 80, proto: 6)
            if try table.lookup(key) != nil { established.append(key) }
        }
        #expect(established.count == 32)
        var forwarded = 0
        for i in 0..<3000 {
            let frame = try PacketSpec.parse("tcp 10.30.\(i / 250).\(i % 250 + 1):\(2000 + i) > 10.200.0.10:80 S")
                .frame()
            if try TestRun.run(program: datapath.programFD, frame: frame).action == TestRun.xdpTX { forwarded += 1 }
        }
        #expect(forwarded == 3000, "the flood is forwarded either way")
        let survivors = try established.filter { try table.lookup($0) != nil }.count
        let busy = try CounterReader(datapath: datapath).events()["flow_set_busy"] ?? 0
        if protected {
            #expect(survivors == 32, "every established flow kept its entry")
            #expect(busy > 0)
        } else {
            #expect(survivors < 32, "without protection the flood evicts established flows")
        }
    }

    @Test func mapLayoutsMatchTheHeader() throws {
        let datapath = try LBDatapath(options: .init(flowCapacity: 1024))
        #expect(datapath.flows.valueSize == MemoryLayout<sy_flow_set>.size)
        #expect(MemoryLayout<sy_flow_slot>.size == 64)
        #expect(datapath.services.valueSize == MemoryLayout<sy_service>.size)
        #expect(datapath.node.valueSize == MemoryLayout<sy_node>.size)
    }
}

@Suite(.enabled(if: BPFProbe.available, BPFProbe.skipMessage))
struct DatapathClockTests {
    @Test func jiffiesRateIsAKernelHZ() throws {
        let datapath = try LBDatapath(options: .init(flowCapacity: 1024))
        let hz = try DatapathClock.hz(datapath)
        #expect([100, 250, 300, 1000].contains(hz))
        #expect(DatapathClock.jiffies(seconds: 2, hz: hz) == 2 * hz)
    }
}

@Suite(.enabled(if: BPFProbe.available, BPFProbe.skipMessage))
struct FlowEventTests {
    /// A stateful service's flow is reported with its key, backend and service once the client
    /// completes the handshake (a SYN alone is not: a spoofed flood never leaves the node), then
    /// at most once per refresh period, then on FIN; a SYN re-opens it. Stateless: never.
    @Test func statefulFlowsAreReportedThroughTheirLife() throws {
        let tables = DatapathTables(config: SelftestConfig.config())
        let datapath = try LBDatapath(options: .init(flowCapacity: 1024))
        let writer = DatapathWriter(datapath: datapath, syncRefresh: 5)
        try writer.apply(tables)
        let reader = try FlowEventReader(datapath: datapath)
        func send(_ spec: String) throws {
            _ = try TestRun.run(program: datapath.programFD, frame: try PacketSpec.parse(spec).frame())
        }
        func kinds() -> [UInt32] { reader.poll(timeoutMs: 10).map(\.kind) }

        try send("tcp 10.0.1.2:40000 > 10.200.0.10:80 S")
        try send("tcp 10.0.1.2:40000 > 10.200.0.10:80 A")
        #expect(kinds().isEmpty, "web is stateless")

        let flow = "tcp [2001:db8::2]:40000 > [2001:db8:200::10]:80"
        let frame = try PacketSpec.parse("\(flow) S").frame()
        var model = tables
        let expected = Pipeline.process(frame, tables: &model).decision!
        _ = try TestRun.run(program: datapath.programFD, frame: frame)
        try send("\(flow) S")
        #expect(kinds().isEmpty, "SYNs alone are not shared")
        try send("\(flow) A")
        let events = reader.poll(timeoutMs: 10)
        #expect(events.map(\.kind) == [SY_REPORT_NEW.rawValue])
        #expect(events.first.map { $0.key.model } == expected.flowKey)
        #expect(events.first?.backend == expected.backend)
        #expect(events.first?.service == expected.serviceID)

        try send("\(flow) A")
        #expect(kinds().isEmpty, "refreshed at most once per period (5 jiffies)")
        usleep(80_000)
        try send("\(flow) A")
        try send("\(flow) A")
        #expect(kinds() == [SY_REPORT_REFRESH.rawValue])
        try send("\(flow) FA")
        try send("\(flow) FA")
        usleep(80_000)
        try send("\(flow) A")
        #expect(kinds() == [SY_REPORT_FIN.rawValue], "FIN once; a closing entry is not refreshed")
        try send("\(flow) S")
        try send("\(flow) A")
        try send("\(flow) R")
        #expect(kinds() == [SY_REPORT_NEW.rawValue, SY_REPORT_RST.rawValue], "a SYN re-opens; RST ends")

        // A flow picked up mid-stream (no SYN seen here) is shared at once.
        try send("tcp [2001:db8::3]:40000 > [2001:db8:200::10]:80 A")
        #expect(kinds() == [SY_REPORT_NEW.rawValue])
    }
}
