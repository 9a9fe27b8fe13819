import Foundation
import Testing

/// Every BFD seed and every crash the fuzzer found (Fuzz/corpus/bfd, Fuzz/regressions/bfd) goes
/// through the fuzzer's own entry point on every test run. A missing directory fails.
@Suite struct BFDFuzzRegressionTests {
    @Test func savedInputsAreHandled() throws {
        let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz")
        var count = 0
        for kind in ["corpus", "regressions"] {
            let directory = fuzz.appendingPathComponent("\(kind)/bfd").standardized
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            where !name.hasPrefix(".") {
                BFDFuzzEntry.bfd([UInt8](try Data(contentsOf: directory.appendingPathComponent(name))))
                count += 1
            }
        }
        #expect(count >= 4, "Fuzz/corpus/bfd holds the seed sessions")
    }
}
