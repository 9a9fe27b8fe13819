import DatapathFixtures
import DatapathModel
import Foundation
import SwitchyardCore
import Testing

@testable import SwitchyardDatapath

enum BPFProbe {
    static let reason = Privileges.bpfUnavailableReason()
    static var available: Bool { reason == nil }
    static var skipMessage: Comment { Comment(rawValue: "skipped: \(reason ?? "")") }
}

/// The kernel program against the model: same tables, same packets, identical verdicts, output
/// bytes, counter changes and flow entries. Needs BPF (root); skipped with the reason otherwise.
@Suite(.enabled(if: BPFProbe.available, BPFProbe.skipMessage), .serialized)
struct KernelDifferentialTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "../Fixtures/pipeline")

    /// Every fixture: model = kernel, and the model meets the fixture (checked in the model
    /// suite too), so kernel = model = expected. A missing or empty corpus fails (the arguments
    /// throw) instead of comparing nothing.
    @Test(arguments: try PipelineFixture.caseNames(directory: fixtures))
    func fixtureAgrees(_ name: String) throws {
        let fixture = try PipelineFixture.load(Self.fixtures.appendingPathComponent("\(name).yaml"))
        let harness = try DifferentialHarness(tables: try fixture.tables(), flowCapacity: 4096)
        harness.ignoreMACs = fixture.swapMACs
        for prior in fixture.prior {
            let mismatch = try harness.run(try PacketSpec.parse(prior).frame())
            #expect(mismatch == nil, "\(name) prior packet: \(mismatch?.description ?? "")")
        }
        let before = harness.model
        let frame = try fixture.frame()
        let mismatch = try harness.run(frame)
        #expect(mismatch == nil, "\(name): \(fixture.description)\n\(mismatch?.description ?? "")")
        #expect(harness.kernelUntestable == (frame.count < 14 ? 1 : 0))
        var model = before
        let result = Pipeline.process(frame, tables: &model)
        let problems = FixtureCheck.check(fixture, input: frame, tables: before, result: result)
        #expect(problems.isEmpty, "\(name): \(problems)")
    }

    /// Seeded random packets, valid and damaged, with backends changing state, the flow table
    /// emptied now and then, and source ranges on half the services, re-drawn for one service
    /// every 2,000 packets (prefixes around the generator's clients: some admitted, some not).
    /// The CLI runs the same with any seed and count.
    @Test func randomPacketsAgree() throws {
        let config = SelftestConfig.config()
        let harness = try DifferentialHarness(tables: DatapathTables(config: config))
        var generator = PacketGenerator(seed: 7, config: config)
        var ranges = SourceRangeGenerator(seed: 7)
        var rng = SplitMix64(seed: 7)
        for (index, key) in harness.model.services.keys.sorted().enumerated() where index % 2 == 0 {
            try harness.setSourceRanges(ranges.ranges(for: key.vip.family), service: key)
        }
        var mismatches: [DifferentialHarness.Mismatch] = []
        var verdicts: [String: Int] = [:]
        var rangeOutcomes = SourceRangeOutcomes()
        let backends = Array(harness.model.backends.keys).sorted()
        for i in 0..<100_000 {
            if i % 5000 == 4999 {
                let index = backends[Int(rng.next() % UInt64(backends.count))]
                try harness.setBackendState(index, [.up, .down, .draining][Int(rng.next() % 3)])
            }
            if i % 2000 == 1999, let change = ranges.change(in: harness.model) {
                try harness.setSourceRanges(change.ranges, service: change.service)
            }
            if i % 20000 == 19999 { try harness.clearFlows() }
            try harness.advance(jiffies: i % 8 == 0 ? 1 : 0, nanoseconds: 500_000)
            let frame = generator.next().frame()
            if let mismatch = try harness.run(frame) {
                mismatches.append(mismatch)
                if mismatches.count >= 5 { break }
            }
            let verdict = harness.lastResult.map { String(describing: $0.verdict) } ?? ""
            verdicts[verdict.components(separatedBy: " ").first ?? "", default: 0] += 1
            rangeOutcomes.count(harness.lastResult, tables: harness.model)
        }
        let table = try harness.compareFlowTables()
        print("random differential: \(verdicts), source ranges: \(rangeOutcomes), \(mismatches.count) mismatches")
        #expect(table.isEmpty, "\(table.prefix(5))")
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches; first:\n\(mismatches.first?.description ?? "")")
        // The generator reaches every kind of outcome, and the ranges both admit and drop.
        #expect(
            verdicts["tx", default: 0] > 20_000 && verdicts["drop", default: 0] > 10_000
                && verdicts["pass", default: 0] > 5_000,
            "\(verdicts)")
        #expect(rangeOutcomes.dropped > 2_000 && rangeOutcomes.admitted > 2_000, "\(rangeOutcomes)")
    }
}

/// A capture replayed through both: the same path `switchyard datapath selftest --pcap` takes.
@Suite(.enabled(if: BPFProbe.available, BPFProbe.skipMessage))
struct PcapReplayTests {
    @Test func captureOfFixturePacketsAgrees() throws {
        let fixtures = try PipelineFixture.loadAll(directory: KernelDifferentialTests.fixtures)
        try #require(fixtures.count >= 40, "\(fixtures.count) fixture packets: the capture would prove little")
        let frames = try fixtures.map { try $0.frame() }
        let capture = Pcap.write(frames)
        let read = try Pcap.read(capture)
        #expect(read == frames)
        let harness = try DifferentialHarness(tables: DatapathTables(config: SelftestConfig.config()))
        for frame in read {
            let mismatch = try harness.run(frame)
            #expect(mismatch == nil, "\(mismatch?.description ?? "")")
        }
    }
}

@Suite struct PcapFormatTests {
    @Test func rejectsWhatIsNotAnEthernetPcap() {
        #expect { try Pcap.read([1, 2, 3]) } throws: { "\($0)".contains("3 bytes, shorter than the 24-byte header") }
        var capture = Pcap.write([[1, 2, 3]])
        capture[20] = 101 // raw IP link type
        #expect { try Pcap.read(capture) } throws: { "\($0)".contains("link type 101 at byte 20") }
        var cut = Pcap.write([[UInt8](repeating: 7, count: 60)])
        cut.removeLast(10)
        #expect { try Pcap.read(cut) } throws: { "\($0)".contains("past the end") }
        #expect { try Pcap.read([UInt8](repeating: 0, count: 24)) } throws: { "\($0)".contains("magic") }
    }

    @Test func readsBigEndianCaptures() throws {
        var capture = Pcap.write([[9, 8, 7]])
        // Byte-swap the header words and the record header, as a big-endian writer would.
        for range in [0..<4, 8..<12, 12..<16, 16..<20, 20..<24, 24..<28, 28..<32, 32..<36, 36..<40] {
            capture.replaceSubrange(range, with: capture[range].reversed())
        }
        capture.replaceSubrange(4..<6, with: capture[4..<6].reversed())
        capture.replaceSubrange(6..<8, with: capture[6..<8].reversed())
        #expect(try Pcap.read(capture) == [[9, 8, 7]])
    }
}
