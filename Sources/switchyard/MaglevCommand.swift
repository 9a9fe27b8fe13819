import ArgumentParser
import Foundation
import SwitchyardCore

struct MaglevCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maglev",
        abstract: "Build a Maglev table for N synthetic backends; print balance, disruption and build time.")

    @Option(help: "Number of backends.") var backends: Int
    @Option(help: "Table size, a prime.") var size: Int = 65537
    @Option(help: "Comma-separated weights, repeated over the backends (default all 1).") var weights: String?
    @Option(help: "Builds to time; the median is reported.") var repeats: Int = 9
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard (1...65536).contains(backends) else { throw ValidationError("--backends must be 1…65536") }
        guard Primes.isPrime(size), size > backends else {
            throw ValidationError("--size must be a prime larger than --backends (e.g. 65537, 655373)")
        }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        var parsed: [UInt16] = []
        if let weights {
            for item in weights.split(separator: ",") {
                guard let w = UInt16(item.trimmingCharacters(in: .whitespaces)) else {
                    throw CommandFailure("--weights: '\(item)' is not a weight 0…65535")
                }
                parsed.append(w)
            }
        }
        let members = MaglevReport.members(count: backends, weights: parsed)
        let clock = ContinuousClock()
        var times: [Double] = []
        for _ in 0..<repeats {
            let elapsed = clock.measure { _ = MaglevTable(members: members, size: size) }
            times.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3)
        }
        let buildMs = times.sorted()[times.count / 2]
        let report = MaglevReport(members: members, size: size)
        if json {
            let object: [String: Any] = [
                "backends": report.backends, "size": report.size, "build_ms": round4(buildMs),
                "max_over_ideal": round4(report.maxOverIdeal),
                "remove_one_moved": round4(report.removeOne.moved),
                "remove_one_collateral": round4(report.removeOne.collateral),
                "add_one_moved": round4(report.addOne.moved), "add_one_collateral": round4(report.addOne.collateral),
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(
                """
                maglev: \(report.backends) backends, \(report.size) slots
                  build          \(String(format: "%.3f", buildMs)) ms (median of \(repeats))
                  balance        max/ideal \(String(format: "%.4f", report.maxOverIdeal))
                  remove one     \(pct(report.removeOne.moved)) of slots moved, \(pct(report.removeOne.collateral)) collateral
                  add one        \(pct(report.addOne.moved)) of slots moved, \(pct(report.addOne.collateral)) collateral
                """)
        }
    }

    private func round4(_ x: Double) -> Double { (x * 10000).rounded() / 10000 }
    private func pct(_ x: Double) -> String { String(format: "%.3f%%", x * 100) }
}
