import DatapathFixtures
import Foundation
import Testing

@testable import DatapathModel

/// The pipeline corpus through the model. The same cases run through the kernel program in the
/// datapath suite; here they pin the model to what the fixtures say.
@Suite struct PipelineFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/pipeline")

    /// At least this many cases: fewer means the corpus lost files.
    static let minimumCorpus = 40

    @Test func corpusIsLargeAndVaried() throws {
        let all = try PipelineFixture.loadAll(directory: Self.directory)
        #expect(all.count >= Self.minimumCorpus, "\(all.count) cases in \(Self.directory.path)")
        #expect(all.contains { $0.packet.contains("[") }, "IPv6 cases")
        #expect(all.contains { $0.expect.outerProto == 17 }, "GUE cases")
        #expect(all.contains { $0.expect.icmp != nil }, "too-big cases")
        #expect(all.contains { $0.packet.hasPrefix("icmp") && $0.expect.verdict == "tx" }, "ICMP steering cases")
        #expect(all.contains { $0.packet.contains("truncate=") }, "truncations")
    }

    /// A missing or empty corpus fails here (the arguments throw), not zero cases passing.
    @Test(arguments: try PipelineFixture.caseNames(directory: directory))
    func fixture(_ name: String) throws {
        let fixture = try PipelineFixture.load(Self.directory.appendingPathComponent("\(name).yaml"))
        var tables = try fixture.tables()
        for prior in fixture.prior {
            _ = Pipeline.process(try PacketSpec.parse(prior).frame(), tables: &tables)
        }
        let before = tables
        let input = try fixture.frame()
        let result = Pipeline.process(input, tables: &tables)
        let problems = FixtureCheck.check(fixture, input: input, tables: before, result: result)
        #expect(problems.isEmpty, "\(name): \(fixture.description)\n  \(problems.joined(separator: "\n  "))")
        // The flow table changes exactly when the case says an entry was inserted.
        let inserted = result.decision?.flow == .inserted
        #expect(
            (tables.flows != before.flows) == inserted, "\(name): flow table changed: \(tables.flows != before.flows)")
    }
}
