import DatapathModel
import Foundation
import Glibc
import SwitchyardABI
import SwitchyardCore
import Testing

@testable import SwitchyardDatapath

/// Without fixed MACs the datapath caches each backend's FIB answer (`sy_nexthops`); the agent's
/// `NextHopWatcher` must make a neighbour change reach the very next packets. Both run in a
/// private namespace whose FIB answers for the bench's backends (`FIBNamespace`).
@Suite(.enabled(if: BPFProbe.available, BPFProbe.skipMessage), .serialized)
struct NextHopCacheTests {
    static let otherMAC = MACAddress(bytes: [0x02, 0x00, 0x00, 0x00, 0xfe, 0x02])

    static func destinationMAC(_ d: LBDatapath) throws -> [UInt8] {
        let frame = try PacketSpec.parse("tcp 10.0.1.2:40000 > 10.200.0.10:80 A len=64").frame()
        let out = try TestRun.run(program: d.programFD, frame: frame)
        #expect(out.action == TestRun.xdpTX)
        return Array(out.output.prefix(6))
    }

    /// Waits (bounded) for the watcher to start a generation after `seen`.
    static func waitForChange(_ watcher: NextHopWatcher, after seen: Int) -> Bool {
        for _ in 0..<200 where watcher.changesSeen <= seen { usleep(10_000) }
        return watcher.changesSeen > seen
    }

    @Test func aNeighbourChangeReachesTheNextPacket() throws {
        let namespace = try FIBNamespace()
        try namespace.inside {
            let d = try BenchSetup.datapath(capacity: 4096, object: nil, fixedMACs: false)
            let watcher = try NextHopWatcher(datapath: d)
            watcher.start()
            defer { watcher.stop() }
            #expect(try watcher.generation != 0, "a watcher starts a current generation")
            #expect(try Self.destinationMAC(d) == FIBNamespace.gatewayMAC.bytes)
            let cached = try (0..<UInt32(64)).compactMap { try d.nexthops.lookup($0, as: sy_nexthop.self) }
                .filter { $0.generation != 0 }
            #expect(cached.count == 1, "the first packet cached its backend's answer")
            let entry = try #require(cached.first)
            #expect(Array(withUnsafeBytes(of: entry.dmac) { Array($0) }) == FIBNamespace.gatewayMAC.bytes)

            let seen = watcher.changesSeen
            try namespace.setGatewayMAC(Self.otherMAC)
            #expect(Self.waitForChange(watcher, after: seen), "the neighbour change was noticed")
            #expect(try Self.destinationMAC(d) == Self.otherMAC.bytes, "no packet leaves with the old MAC")
        }
    }

    /// The control: with a current generation and nobody following changes, the cache would keep
    /// the old MAC (so the test above proves the watcher, not the FIB); generation 0 switches
    /// caching off.
    @Test func withoutTheWatcherTheCachedMACWouldStayOld() throws {
        let namespace = try FIBNamespace()
        try namespace.inside {
            let d = try BenchSetup.datapath(capacity: 4096, object: nil, fixedMACs: false)
            try d.fibGeneration.update(UInt32(0), UInt32(7))
            #expect(try Self.destinationMAC(d) == FIBNamespace.gatewayMAC.bytes)
            try namespace.setGatewayMAC(Self.otherMAC)
            #expect(try Self.destinationMAC(d) == FIBNamespace.gatewayMAC.bytes, "served from the cache")
            try d.fibGeneration.update(UInt32(0), UInt32(0))
            #expect(try Self.destinationMAC(d) == Self.otherMAC.bytes, "generation 0: the FIB on every packet")
        }
    }
}
