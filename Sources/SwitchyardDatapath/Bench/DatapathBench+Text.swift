import Foundation

extension DatapathBench.Mode {
    /// What the mode means, for the report's header.
    public func describe(block: Int, warmup: Int) -> String {
        switch self {
        case .block:
            "block mode: \(block) recorded calls of one case after \(warmup) unrecorded warm-up calls, "
                + "cases rotating block by block"
        case .cold:
            "cold mode: one call of each case in turn (each call finds the caches another case left)"
        }
    }
}

extension DatapathBench.Report {
    /// The report as printed by `switchyard datapath bench`.
    public var lines: [String] {
        var out = [
            "XDP LB program, BPF_PROG_TEST_RUN repeat=1, CPU \(cpu), \(samples) samples per case",
            mode.describe(block: block, warmup: warmup),
            "floor (empty XDP program, same schedule): \(percentiles(floor)) ns",
            pad("", 52) + "net ns:  p10   p50   p90  gross p50",
        ]
        for c in cases {
            let figures = "\(num(c.net.p10)) \(num(c.net.p50)) \(num(c.net.p90))  \(num(c.gross.p50))"
            out.append("  " + pad(c.name, 50) + "  " + figures)
            if let note = c.note { out.append("      " + note) }
        }
        for c in cases {
            if let ratio = c.ratioToLRU {
                out.append("  \(c.name) ÷ kernel LRU miss + insert (net medians): \(String(format: "%.2f", ratio))")
            }
        }
        if let beyond = newFlowBeyondColdRead {
            out.append("  new flow beyond its one cold read: \(ns(beyond)) ns (gross medians)")
        }
        if !targets.isEmpty {
            out.append("targets (net medians of this run):")
            for t in targets {
                let floor = t.floor.map { " — floor (\(t.floorCase ?? "")) \(ns($0))" } ?? ""
                out.append("  \(t.met ? "met   " : "MISSED") \(t.name): \(ns(t.measured)) vs \(ns(t.bound))\(floor)")
            }
        }
        if !fills.isEmpty {
            out.append("fill: N random flows into a table of configured capacity N, through each program's own insert")
            out += fills.map(\.line)
        }
        return out
    }
}

extension DatapathBench.Fill {
    public var line: String {
        let ours = String(
            format: "Switchyard %d slots, held %d (%.2f%%), %.1f B/flow (memlock %d B, values %d B)",
            slots, held, 100 * fractionHeld, bytesPerFlow, bytes, valueBytes)
        let lru = String(
            format: "kernel LRU held %d (%.2f%%), %.1f B/flow (memlock %d B)",
            lruHeld, 100 * lruFractionHeld, lruBytesPerFlow, lruBytes)
        return "  N=\(DatapathBench.label(flows)): \(ours) | \(lru)"
    }
}

extension DatapathBench.BothCPUs {
    public var lines: [String] {
        let list = cpus.map(String.init).joined(separator: " and ")
        var out = [
            "CPU \(cpus.first ?? 0) alone, then CPUs \(list) at once (one shared table), "
                + "\(samples) samples per case and CPU",
            DatapathBench.Mode.block.describe(block: block, warmup: warmup),
        ]
        for e in entries {
            let perCPU = zip(cpus, e.together).map { "CPU \($0.0) \(percentiles($0.1.net))" }.joined(separator: "; ")
            out.append("  \(e.name), net ns: alone \(percentiles(e.alone.net)); together \(perCPU)")
            out.append(
                String(
                    format: "      rate (program only, 1e9/net p50): one CPU %.2f Mpps, together %.2f Mpps"
                        + " = %.2f× one CPU", e.aloneMpps, e.togetherMpps, e.scaling))
        }
        return out
    }
}

private func percentiles(_ p: DatapathBench.Percentiles) -> String {
    "p10 \(ns(p.p10))  p50 \(ns(p.p50))  p90 \(ns(p.p90))"
}
private func ns(_ x: Double) -> String { String(format: "%.0f", x) }
private func num(_ x: Double) -> String { String(format: "%5.0f", x) }
private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
