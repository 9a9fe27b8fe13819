import DatapathFixtures
import DatapathModel
import Foundation
import Glibc
import SwitchyardABI
import SwitchyardCore
import Testing

@testable import SwitchyardDatapath

/// The pod programs in the kernel (BPF_PROG_TEST_RUN): decap with port mapping, the egress
/// reply mapping, the mapping tables and pinning. Needs BPF (root).
@Suite(.enabled(if: BPFProbe.available, BPFProbe.skipMessage), .serialized)
struct PodPortMappingTests {
    static let vip4 = IPAddress("10.200.0.10")!
    static let vip6 = IPAddress("2001:db8:200::10")!

    /// Every SelftestConfig service's (vip, port, proto) mapped to port + 8000.
    static func mappings() -> [DecapPortMapping] {
        [
            DecapPortMapping(vip: vip4, proto: .tcp, servicePort: 80, targetPort: 8080),
            DecapPortMapping(vip: IPAddress("10.200.0.53")!, proto: .udp, servicePort: 53, targetPort: 8053),
            DecapPortMapping(vip: vip6, proto: .tcp, servicePort: 80, targetPort: 8080),
            DecapPortMapping(vip: IPAddress("2001:db8:200::11")!, proto: .tcp, servicePort: 443, targetPort: 8443),
        ]
    }

    /// The model encapsulates (IPIP, GUE 4-in-4, IPv6-in-IPv6, GUE 6-in-4), the kernel strips and
    /// maps: the result is the inner packet built afresh with the target port, whose checksum
    /// also verifies from the bytes alone.
    @Test(arguments: [
        ("tcp 10.0.1.2:40000 > 10.200.0.10:80 S len=20", UInt16(8080)),
        ("udp 10.0.1.2:5353 > 10.200.0.53:53 len=30", 8053),
        ("tcp [2001:db8::2]:40000 > [2001:db8:200::10]:80 S", 8080),
        ("tcp [2001:db8::2]:40000 > [2001:db8:200::11]:443 S len=7", 8443),
        ("udp 10.0.1.2:5353 > 10.200.0.53:53 len=1 ipopts=8", 8053),
    ])
    func decapMapsTheDestinationPort(_ spec: String, target: UInt16) throws {
        let packet = try PacketSpec.parse(spec)
        var tables = DatapathTables(config: SelftestConfig.config())
        guard case .tx(let encapsulated) = Pipeline.process(packet.frame(), tables: &tables).verdict else {
            Issue.record("model did not forward \(spec)")
            return
        }
        let decap = try DecapDatapath()
        try decap.setGUEPort(6080)
        try decap.setPortMappings(Self.mappings())
        let run = try TestRun.run(program: decap.programFD, frame: encapsulated)
        #expect(run.action == 0, "TC_ACT_OK")
        let expected = PodFrames.withPorts(packet, destination: target).frame()
        #expect(
            Array(run.output.dropFirst(12)) == Array(expected.dropFirst(12)), "\(FrameDescriber.describe(run.output))")
        let l4 = PodFrames.l4(run.output)
        #expect(l4?.destinationPort == target)
        #expect(l4?.verification == 0, "checksum verifies independently")
        let counts = try decap.counts()
        #expect(counts.decapsulated == 1 && counts.portsMapped == 1 && counts.mapFailed == 0, "\(counts)")
    }

    @Test func decapWithoutAMatchingMappingLeavesThePort() throws {
        let decap = try DecapDatapath()
        // Same address and port, other protocol; same address, other port.
        try decap.setPortMappings([
            DecapPortMapping(vip: Self.vip4, proto: .udp, servicePort: 80, targetPort: 8080),
            DecapPortMapping(vip: Self.vip4, proto: .tcp, servicePort: 81, targetPort: 8081),
        ])
        let inner = try PacketSpec.parse("tcp 10.0.1.2:40000 > 10.200.0.10:80 S").frame()
        let frame = PodFrames.ipip(
            Array(inner.dropFirst(14)), from: IPv4Address(10, 1, 0, 1), to: IPv4Address(10, 1, 0, 2))
        let run = try TestRun.run(program: decap.programFD, frame: frame)
        #expect(Array(run.output.dropFirst(12)) == Array(inner.dropFirst(12)))
        let counts = try decap.counts()
        #expect(counts.decapsulated == 1 && counts.portsMapped == 0, "\(counts)")
    }

    /// UDP over IPv4 without a checksum (0) keeps 0 after the port changes (RFC 768).
    @Test func udpWithoutChecksumStaysWithout() throws {
        let decap = try DecapDatapath()
        try decap.setPortMappings(Self.mappings())
        var inner = try PacketSpec.parse("udp 10.0.1.2:5353 > 10.200.0.53:53 len=12").frame()
        inner[40] = 0
        inner[41] = 0
        let frame = PodFrames.ipip(
            Array(inner.dropFirst(14)), from: IPv4Address(10, 1, 0, 1), to: IPv4Address(10, 1, 0, 2))
        let run = try TestRun.run(program: decap.programFD, frame: frame)
        let l4 = PodFrames.l4(run.output)
        #expect(l4?.destinationPort == 8053)
        #expect(l4?.checksumField == 0)
        #expect(try decap.counts().portsMapped == 1)
    }

    /// Replies from (vip, targetPort) leave from the service port, checksum fixed; others pass.
    @Test(arguments: [
        ("tcp 10.200.0.10:8080 > 10.0.1.2:40000 SA len=100", UInt16?(80)),
        ("udp 10.200.0.53:8053 > 10.0.1.2:5353 len=30", 53),
        ("tcp [2001:db8:200::10]:8080 > [2001:db8::2]:40000 A len=3", 80),
        ("tcp [2001:db8:200::11]:8443 > [2001:db8::2]:40000 SA", 443),
        ("tcp 10.200.0.10:8081 > 10.0.1.2:40000 SA", nil), // no mapping for this port
        ("udp 10.200.0.10:8080 > 10.0.1.2:40000 len=4", nil), // nor for UDP
        ("tcp 10.200.0.11:8080 > 10.0.1.2:40000 SA", nil), // nor this address
        ("tcp 10.0.1.2:40000 > 10.200.0.10:8080 S", nil), // the source is what counts
    ])
    func egressMapsTheReplySourcePort(_ spec: String, servicePort: UInt16?) throws {
        let decap = try DecapDatapath()
        try decap.setPortMappings(Self.mappings())
        let packet = try PacketSpec.parse(spec)
        let run = try TestRun.run(program: decap.egressProgramFD, frame: packet.frame())
        #expect(run.action == 0, "TC_ACT_OK")
        let expected = servicePort.map { PodFrames.withPorts(packet, source: $0).frame() } ?? packet.frame()
        #expect(run.output == expected, "\(FrameDescriber.describe(run.output))")
        #expect(PodFrames.l4(run.output)?.verification == 0)
        #expect(try decap.counts().repliesMapped == (servicePort == nil ? 0 : 1))
    }

    @Test func mappingsAreSyncedNotRewritten() throws {
        let decap = try DecapDatapath()
        #expect(try decap.setPortMappings(Self.mappings()))
        #expect(try !decap.setPortMappings(Self.mappings().reversed()), "same set: nothing written")
        #expect(Set(try decap.portMappings()) == Set(Self.mappings()))
        let smaller =
            Array(Self.mappings().prefix(1)) + [
                DecapPortMapping(vip: Self.vip4, proto: .tcp, servicePort: 443, targetPort: 443) // identity: no entry
            ]
        #expect(try decap.setPortMappings(smaller))
        #expect(try decap.portMappings() == Array(Self.mappings().prefix(1)))
        #expect(try decap.portsOut.keys(as: sy_port_key.self).count == 1)
        #expect(try decap.setPortMappings([]))
        #expect(try decap.portsIn.isEmpty && decap.portsOut.isEmpty)
    }

    @Test func conflictingMappingsAreRefusedWithWhatToDo() throws {
        let decap = try DecapDatapath()
        try decap.setPortMappings(Self.mappings())
        let sharedTarget = [
            DecapPortMapping(vip: Self.vip4, proto: .tcp, servicePort: 443, targetPort: 8080),
            DecapPortMapping(vip: Self.vip4, proto: .tcp, servicePort: 80, targetPort: 8080),
        ]
        let error = #expect(throws: DecapPortMapping.ConflictError.self) { try decap.setPortMappings(sharedTarget) }
        #expect(error?.first.servicePort == 80 && error?.second.servicePort == 443, "sorted: stable report")
        #expect(error?.description.contains("give each service port its own target port") == true)
        let twoTargets = [
            DecapPortMapping(vip: Self.vip4, proto: .tcp, servicePort: 80, targetPort: 8080),
            DecapPortMapping(vip: Self.vip4, proto: .tcp, servicePort: 80, targetPort: 8081),
        ]
        #expect(throws: DecapPortMapping.ConflictError.self) { try decap.setPortMappings(twoTargets) }
        // Identity mappings claim their port too: replies from 80 would be ambiguous.
        #expect(throws: DecapPortMapping.ConflictError.self) {
            try decap.setPortMappings([
                DecapPortMapping(vip: Self.vip4, proto: .tcp, servicePort: 80, targetPort: 80),
                DecapPortMapping(vip: Self.vip4, proto: .tcp, servicePort: 443, targetPort: 80),
            ])
        }
        // Same ports on another protocol or address do not conflict.
        try decap.setPortMappings(
            sharedTarget.prefix(1) + [DecapPortMapping(vip: Self.vip6, proto: .tcp, servicePort: 80, targetPort: 8080)]
                + [DecapPortMapping(vip: Self.vip4, proto: .udp, servicePort: 80, targetPort: 8080)])
        #expect(try decap.portMappings().count == 3, "a refused set changed nothing; the valid one applied")
    }

    @Test func tooManyMappingsAreRefused() throws {
        let decap = try DecapDatapath()
        let count = Int(SY_PORT_MAPPINGS_MAX) + 1
        let many: [DecapPortMapping] = (0..<count).map { (i: Int) -> DecapPortMapping in
            let port = UInt16(1000 + i)
            return DecapPortMapping(vip: Self.vip4, proto: .tcp, servicePort: port, targetPort: port + 20000)
        }
        let error = #expect(throws: BPFError.self) { try decap.setPortMappings(many) }
        #expect(error?.errno == E2BIG)
        #expect(try decap.portsIn.isEmpty)
    }

    /// A second load with the same pins re-uses programs and maps: same ids, contents kept.
    @Test func pinnedProgramsAndMapsAreReused() throws {
        let bpffs = "/tmp/sytest\(String(UInt32.random(in: 0...UInt32.max), radix: 16))-bpf"
        try BPFFS.ensureMounted(bpffs)
        defer { BPFFS.unmount(bpffs) }
        let pins = "\(bpffs)/pod"
        let first = try DecapDatapath(pinDirectory: pins)
        #expect(!first.reusedPinnedPrograms)
        try first.setPortMappings(Self.mappings())
        try first.setGUEPort(6080)
        let ids = try (DecapDatapath.programID(first.programFD), DecapDatapath.programID(first.egressProgramFD))
        let mapID = try first.portsIn.id()
        let second = try DecapDatapath(pinDirectory: pins)
        #expect(second.reusedPinnedPrograms)
        #expect(try DecapDatapath.programID(second.programFD) == ids.0)
        #expect(try DecapDatapath.programID(second.egressProgramFD) == ids.1)
        #expect(try second.portsIn.id() == mapID)
        #expect(Set(try second.portMappings()) == Set(Self.mappings()))
        #expect(try second.config.lookup(UInt32(0), as: sy_decap_config.self)?.gue_port == UInt16(6080).bigEndian)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: pins))
        #expect(names == Set(DecapDatapath.programNames + DecapDatapath.layout.keys), "\(names)")
        DecapDatapath.unpin(directory: pins)
        #expect(access(pins, F_OK) != 0)
    }

    @Test func abiLayouts() {
        #expect(MemoryLayout<sy_port_key>.size == 20)
        #expect(MemoryLayout<sy_port_value>.size == 4)
        #expect(MemoryLayout<sy_decap_config>.size == 8)
        #expect(SY_DECAP__COUNT.rawValue == 5)
    }
}
