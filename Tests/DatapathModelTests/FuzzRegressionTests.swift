import Foundation
import Testing

/// Every seed and every crash the fuzzers found (Fuzz/corpus/<target>, Fuzz/regressions/<target>)
/// goes through the fuzzers' own entry points on every test run, so a fixed crash stays fixed
/// without libFuzzer. A missing directory fails: the fuzz layout moved and these tests went blind.
@Suite struct FuzzRegressionTests {
    static let targets = ["frame-describer", "packet-spec", "config", "pcap", "pipeline"]

    static func savedInputs(_ target: String) throws -> [URL] {
        let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz")
        var files: [URL] = []
        for kind in ["corpus", "regressions"] {
            let directory = fuzz.appendingPathComponent("\(kind)/\(target)").standardized
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            files += names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
        }
        return files
    }

    @Test func everyEntryPointHasSavedInputs() {
        #expect(Set(FuzzEntry.targets.keys) == Set(Self.targets))
    }

    @Test(arguments: targets) func savedInputsAreHandled(target: String) throws {
        let entry = try #require(FuzzEntry.targets[target])
        let files = try Self.savedInputs(target)
        #expect(files.count >= 3, "Fuzz/corpus/\(target) holds the seeds; regenerate with FuzzSeeds")
        for file in files { entry([UInt8](try Data(contentsOf: file))) }
    }
}
