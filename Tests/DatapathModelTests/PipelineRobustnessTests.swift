import SwitchyardCore
import Testing

@testable import DatapathModel

/// Whatever arrives, the pipeline answers with exactly one verdict and counts every drop once;
/// it never traps on peer input.
@Suite struct PipelineRobustnessTests {
    static func tables() -> DatapathTables {
        let v4 = (1...3).map { Backend(address: .v4(IPv4Address(10, 1, 0, UInt8($0))), port: 80) }
        return DatapathTables(
            config: SwitchyardConfig(
                node: NodeSettings(
                    name: "t", ipv4Source: IPv4Address(10, 0, 0, 11), ipv6Source: IPv6Address("fd00::11"),
                    maglevTableSize: 1009),
                services: [
                    Service(
                        name: "web", key: ServiceKey(vip: IPAddress("10.200.0.10")!, port: 80, proto: .tcp),
                        backends: v4),
                    Service(
                        name: "web6", key: ServiceKey(vip: IPAddress("2001:db8:200::10")!, port: 80, proto: .tcp),
                        encap: .gue, backends: v4),
                ]))
    }

    @Test func everyPrefixOfValidPacketsIsHandled() throws {
        var tables = Self.tables()
        let specs = [
            "tcp 10.0.1.2:40000 > 10.200.0.10:80 S ipopts=8",
            "tcp [2001:db8::2]:40000 > [2001:db8:200::10]:80 S ext=hbh,dst",
            "icmp 192.0.2.1 > 10.200.0.10 frag-needed mtu=1400 quote=\"tcp 10.200.0.10:80 > 10.0.1.2:40000 A\"",
            "icmp 2001:db8::1 > 2001:db8:200::10 toobig mtu=1400 quote=\"tcp [2001:db8:200::10]:80 > [2001:db8::2]:4 A\"",
        ]
        for spec in specs {
            let frame = try PacketSpec.parse(spec).frame()
            for cut in 0...frame.count {
                let result = Pipeline.process(Array(frame.prefix(cut)), tables: &tables)
                if case .drop(let reason) = result.verdict {
                    #expect(result.counters.drops == [reason: 1], "\(spec) cut at \(cut)")
                } else {
                    #expect(result.counters.drops.isEmpty)
                }
            }
        }
    }

    @Test func randomBytesNeverTrap() {
        var tables = Self.tables()
        var state: UInt64 = 99
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let seed = try! PacketSpec.parse("tcp 10.0.1.2:40000 > 10.200.0.10:80 S len=20").frame()
        for _ in 0..<20_000 {
            var frame = seed
            // Flip a few bytes past the MACs, keep the VIP so the deep stages are reached.
            for _ in 0..<Int(next() % 4 + 1) {
                let at = 12 + Int(next() % UInt64(frame.count - 12))
                if at < 30 || at > 33 { frame[at] = UInt8(truncatingIfNeeded: next()) }
            }
            let result = Pipeline.process(frame, tables: &tables)
            let drops = result.counters.drops.values.reduce(0, +)
            if case .drop = result.verdict { #expect(drops == 1) } else { #expect(drops == 0) }
        }
    }
}
