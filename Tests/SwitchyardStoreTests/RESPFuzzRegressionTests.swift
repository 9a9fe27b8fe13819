import Foundation
import Testing

/// Every RESP seed and every crash the fuzzer found (Fuzz/corpus/resp, Fuzz/regressions/resp) goes
/// through the fuzzer's own entry point on every test run. A missing directory fails.
@Suite struct RESPFuzzRegressionTests {
    @Test func savedInputsAreHandled() throws {
        let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz")
        var count = 0
        for kind in ["corpus", "regressions"] {
            let directory = fuzz.appendingPathComponent("\(kind)/resp").standardized
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            where !name.hasPrefix(".") {
                RESPFuzzEntry.resp([UInt8](try Data(contentsOf: directory.appendingPathComponent(name))))
                count += 1
            }
        }
        #expect(count >= 3, "Fuzz/corpus/resp holds the seeds; regenerate with FuzzSeeds")
    }
}
