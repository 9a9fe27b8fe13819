import Foundation
import Testing

/// Every BGP seed (the messages captured from BIRD and FRR, under both codec contexts) and every
/// crash the fuzzer found (Fuzz/corpus/bgp, Fuzz/regressions/bgp) goes through the fuzzer's own
/// entry point on every test run. A missing directory fails.
@Suite struct BGPFuzzRegressionTests {
    @Test func savedInputsAreHandled() throws {
        let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz")
        var count = 0
        for kind in ["corpus", "regressions"] {
            let directory = fuzz.appendingPathComponent("\(kind)/bgp").standardized
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            where !name.hasPrefix(".") {
                BGPFuzzEntry.bgp([UInt8](try Data(contentsOf: directory.appendingPathComponent(name))))
                count += 1
            }
        }
        #expect(count >= 40, "Fuzz/corpus/bgp holds the captured messages as seeds")
    }
}
