import Foundation
import Testing

/// Every Kubernetes watch seed and every crash the fuzzer found (Fuzz/corpus/kube, Fuzz/regressions/kube) goes
/// through the fuzzer's own entry point on every test run. A missing directory fails.
@Suite struct KubeFuzzRegressionTests {
    @Test func savedInputsAreHandled() throws {
        let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz")
        var count = 0
        for kind in ["corpus", "regressions"] {
            let directory = fuzz.appendingPathComponent("\(kind)/kube").standardized
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            where !name.hasPrefix(".") {
                KubeFuzzEntry.watch([UInt8](try Data(contentsOf: directory.appendingPathComponent(name))))
                count += 1
            }
        }
        #expect(count >= 4, "Fuzz/corpus/kube holds the seed streams")
    }
}
