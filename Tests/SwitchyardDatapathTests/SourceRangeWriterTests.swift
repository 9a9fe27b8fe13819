import DatapathFixtures
import DatapathModel
import SwitchyardABI
import SwitchyardCore
import Testing

@testable import SwitchyardDatapath

/// The writer keeps `sy_source_ranges` equal to the tables' ranges: the VIP's family only,
/// diffed, gone with the list or the service, cleaned up over re-used pinned maps. Needs BPF (root).
@Suite(.enabled(if: BPFProbe.available, BPFProbe.skipMessage), .serialized)
struct SourceRangeWriterTests {
    static let web = ServiceKey(vip: .v4(IPv4Address(10, 200, 0, 10)), port: 80, proto: .tcp)

    static func prefixes(_ texts: [String]) -> [IPPrefix] { texts.compactMap { IPPrefix($0) } }

    /// The trie's entries as text, e.g. "svc0 10.0.1.0/24" (the id and the prefix it holds); the
    /// tests here write IPv4 prefixes only.
    static func trie(_ datapath: LBDatapath) throws -> Set<String> {
        Set(
            try datapath.sourceRanges.keys(as: sy_source_range_key.self).map { key in
                let address = IPAddress(abiWords: key.addr, family: UInt8(SY_FAMILY_V4))
                return "svc\(key.service) \(address)/\(key.prefixlen - SY_SOURCE_RANGE_ID_BITS)"
            })
    }

    func verdict(_ datapath: LBDatapath, _ packet: String) throws -> UInt32 {
        try TestRun.run(program: datapath.programFD, frame: try PacketSpec.parse(packet).frame()).action
    }

    @Test func writesTheVIPFamilyDiffedAndRemovesWithTheListOrService() throws {
        let datapath = try LBDatapath(options: .init(flowCapacity: 4096))
        let writer = DatapathWriter(datapath: datapath)
        var tables = DatapathTables(config: SelftestConfig.config())
        let id = try #require(tables.services[Self.web]?.id)
        tables.services[Self.web]?.sourceRanges = Self.prefixes(["10.0.1.0/24", "10.0.7.7/32", "2001:db8::/32"])
        var changes = try writer.apply(tables)
        #expect(changes.sourceRangesWritten == 2 && changes.sourceRangesRemoved == 0)
        #expect(try Self.trie(datapath) == ["svc\(id) 10.0.1.0/24", "svc\(id) 10.0.7.7/32"])
        #expect(try verdict(datapath, "tcp 10.0.1.2:40000 > 10.200.0.10:80 S") == TestRun.xdpTX)
        #expect(try verdict(datapath, "tcp 10.0.7.7:40000 > 10.200.0.10:80 S") == TestRun.xdpTX)
        #expect(try verdict(datapath, "tcp 10.0.7.8:40000 > 10.200.0.10:80 S") == TestRun.xdpDrop)
        // Port 443 of the same VIP has no list: everyone is admitted there.
        #expect(try verdict(datapath, "tcp 10.0.7.8:40000 > 10.200.0.10:443 S") == TestRun.xdpTX)
        #expect(try writer.apply(tables) == DatapathWriter.Changes(), "nothing changed, nothing written")

        // Narrowed: one prefix added, one removed, the one kept untouched.
        tables.services[Self.web]?.sourceRanges = Self.prefixes(["10.0.1.0/24", "10.0.8.0/22"])
        changes = try writer.apply(tables)
        #expect(changes.sourceRangesWritten == 1 && changes.sourceRangesRemoved == 1)
        #expect(try Self.trie(datapath) == ["svc\(id) 10.0.1.0/24", "svc\(id) 10.0.8.0/22"])
        #expect(try verdict(datapath, "tcp 10.0.7.7:40000 > 10.200.0.10:80 S") == TestRun.xdpDrop)
        #expect(try verdict(datapath, "tcp 10.0.11.1:40000 > 10.200.0.10:80 S") == TestRun.xdpTX)

        // The list emptied: the flag goes with it and every client is admitted again.
        tables.services[Self.web]?.sourceRanges = []
        changes = try writer.apply(tables)
        #expect(changes.sourceRangesRemoved == 2 && changes.servicesWritten == 1)
        #expect(try Self.trie(datapath).isEmpty)
        #expect(try verdict(datapath, "tcp 10.0.7.7:40000 > 10.200.0.10:80 S") == TestRun.xdpTX)

        // A list of the other family only admits nobody (no entry, flag set).
        tables.services[Self.web]?.sourceRanges = Self.prefixes(["::/0"])
        try writer.apply(tables)
        #expect(try Self.trie(datapath).isEmpty)
        #expect(try verdict(datapath, "tcp 10.0.1.2:40000 > 10.200.0.10:80 S") == TestRun.xdpDrop)

        // A service that goes takes its prefixes along.
        tables.services[Self.web]?.sourceRanges = Self.prefixes(["10.0.1.0/24"])
        try writer.apply(tables)
        #expect(try Self.trie(datapath).count == 1)
        tables.services[Self.web] = nil
        changes = try writer.apply(tables)
        #expect(changes.sourceRangesRemoved == 1 && changes.servicesRemoved == 1)
        #expect(try Self.trie(datapath).isEmpty)
    }

    /// A new process over pinned maps has no record of what it wrote: it reads the trie and
    /// removes the prefixes its tables do not have.
    @Test func reusedPinnedMapsLoseStalePrefixes() throws {
        let fs = try DatapathLoaderTests.PrivateBPFFS()
        defer { LBDatapath.unpin(directory: fs.path) }
        var tables = DatapathTables(config: SelftestConfig.config())
        let id = try #require(tables.services[Self.web]?.id)
        tables.services[Self.web]?.sourceRanges = Self.prefixes(["10.0.1.0/24", "10.0.2.0/24"])
        do {
            let first = try LBDatapath(options: .init(flowCapacity: 4096, pinDirectory: fs.path))
            try DatapathWriter(datapath: first).apply(tables)
            #expect(try Self.trie(first).count == 2)
        }
        let second = try LBDatapath(options: .init(flowCapacity: 4096, pinDirectory: fs.path))
        #expect(second.reusedPinnedMaps)
        #expect(try Self.trie(second) == ["svc\(id) 10.0.1.0/24", "svc\(id) 10.0.2.0/24"], "the trie is pinned too")
        tables.services[Self.web]?.sourceRanges = Self.prefixes(["10.0.2.0/24"])
        let changes = try DatapathWriter(datapath: second).apply(tables)
        #expect(changes.sourceRangesRemoved == 1)
        #expect(try Self.trie(second) == ["svc\(id) 10.0.2.0/24"])
    }
}
