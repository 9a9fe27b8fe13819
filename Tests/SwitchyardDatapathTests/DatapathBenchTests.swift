import Foundation
import Glibc
import Testing

@testable import SwitchyardDatapath

/// The benchmark's plumbing, not its figures (those are printed by `switchyard datapath bench`).
@Suite(.enabled(if: BPFProbe.available, BPFProbe.skipMessage), .serialized)
struct DatapathBenchTests {
    /// Every case runs, a comparison object's cases come interleaved and marked [B], and the
    /// memory and kernel-LRU baselines are measured in the same run.
    @Test func everyCaseRunsWithComparisonAndBaselines() throws {
        let path = "/tmp/switchyard-bench-object-\(getpid()).o"
        try Data(EmbeddedObject.lb.bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let cases = try DatapathBench(samples: 30, compareObjectPath: path, preload: 1000).run()
        let names = cases.map(\.name)
        let own = [
            "non-VIP pass", "established v4", "established v6", "new flow (SYN + insert)",
            "new flow, full table (evicts)",
            "new flow, 64K-entry table", DatapathBench.coldRead, "GUE established", "sourceIP key established",
        ]
        #expect(names == own + own.map { $0 + " [B]" } + [DatapathBench.referenceLRU])
        for c in cases {
            #expect(c.grossNs > 0, "\(c.name) was measured")
            #expect(c.floorNs == cases[0].floorNs, "\(c.name) shares the run's floor")
        }
    }
}
