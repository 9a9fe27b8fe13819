import DatapathModel
import Foundation
import SwitchyardABI
import SwitchyardCore
import Testing

@testable import SwitchyardDatapath

/// The VIP prefilter (`sy_vip_filter`): the writer sets a bit for every VIP, clears the bits of
/// VIPs it removes, and a packet to an address whose bit is clear passes.
@Suite(.enabled(if: BPFProbe.available, BPFProbe.skipMessage), .serialized)
struct VIPFilterTests {
    static func bits(_ d: LBDatapath) throws -> Set<UInt32> {
        let filter = try #require(try d.vipFilter.lookup(UInt32(0), as: sy_vip_filter.self))
        return withUnsafeBytes(of: filter) { raw in
            var set: Set<UInt32> = []
            for i in 0..<Int(SY_VIP_FILTER_WORDS) {
                let word = raw.load(fromByteOffset: 8 * i, as: UInt64.self)
                for b in 0..<64 where word & (1 << UInt64(b)) != 0 { set.insert(UInt32(i * 64 + b)) }
            }
            return set
        }
    }

    static func bit(_ vip: IPAddress) -> UInt32 {
        var key = sy_vip_addr(vip)
        return withUnsafePointer(to: &key.addr) {
            $0.withMemoryRebound(to: UInt32.self, capacity: 4) { sy_vip_filter_bit($0, key.family) }
        }
    }

    @Test func writerKeepsExactlyTheVIPsBits() throws {
        let config = BenchSetup.config()
        let d = try LBDatapath(options: .init(flowCapacity: 4096))
        let writer = DatapathWriter(datapath: d)
        try writer.apply(DatapathTables(config: config))
        let vips = Set(config.services.map(\.key.vip))
        #expect(vips.count >= 4)
        #expect(try Self.bits(d) == Set(vips.map(Self.bit)))

        var fewer = config
        fewer.services = Array(config.services.prefix(1))
        try writer.apply(DatapathTables(config: fewer))
        #expect(try Self.bits(d) == [Self.bit(config.services[0].key.vip)], "removed VIPs' bits are cleared")
    }

    /// A VIP's neighbours in its /24 and /64 land on other bits (so they pass on the filter alone).
    @Test func nearbyAddressesSpreadOverTheFilter() {
        let v4 = (0..<256).map { Self.bit(.v4(IPv4Address(10, 200, 0, UInt8($0)))) }
        let v6 = (0..<256).map { Self.bit(.v6(IPv6Address("fd00:200::\(String($0, radix: 16))")!)) }
        #expect(Set(v4).count >= 250)
        #expect(Set(v6).count >= 250)
    }
}
