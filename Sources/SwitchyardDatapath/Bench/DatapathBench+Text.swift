import Foundation

extension DatapathBench.Mode {
    /// What the mode means, for the report's header.
    public func describe(block: Int, warmup: Int) -> String {
        switch self {
        case .block: "block mode: \(block) recorded calls of one case after \(warmup) unrecorded warm-up calls; cases rotate block by block"
        case .cold: "cold mode: one call of each case in turn (each call finds caches another case's call left: higher figures)"
        }
    }
}

extension DatapathBench.Report {
    /// The report as printed by `switchyard datapath bench`.
    public var lines: [String] {
        var out = ["XDP LB program, BPF_PROG_TEST_RUN repeat=1, CPU \(cpu), \(samples) samples per case",
                   mode.describe(block: block, warmup: warmup),
                   "floor (empty XDP program, same schedule): p10 \(ns(floor.p10))  p50 \(ns(floor.p50))  p90 \(ns(floor.p90)) ns",
                   pad("", 52) + "net ns:  p10   p50   p90  gross p50"]
        for c in cases {
            out.append("  " + pad(c.name, 50) + "  \(num(c.net.p10)) \(num(c.net.p50)) \(num(c.net.p90))  \(num(c.gross.p50))")
            if let note = c.note { out.append("      " + note) }
        }
        for c in cases {
            if let ratio = c.ratioToLRU { out.append("  \(c.name) ÷ kernel LRU miss + insert: \(String(format: "%.2f", ratio))") }
        }
        if let beyond = newFlowBeyondColdRead { out.append("  new flow beyond its one cold read: \(ns(beyond)) ns (gross medians)") }
        if !fills.isEmpty {
            out.append("fill: N random flows into a table of configured capacity N, through each program's own insert")
            out += fills.map(\.line)
        }
        return out
    }
}

extension DatapathBench.Fill {
    public var line: String {
        String(format: "  N=%@  Switchyard: %d slots, held %d (%.1f%%), %.1f B/flow (memlock %d B, values %d B) | kernel LRU: held %d (%.1f%%), %.1f B/flow (memlock %d B)",
               DatapathBench.label(flows), slots, held, 100 * fractionHeld, bytesPerFlow, bytes, valueBytes, lruHeld,
               100 * lruFractionHeld, lruBytesPerFlow, lruBytes)
    }
}

extension DatapathBench.BothCPUs {
    public var lines: [String] {
        var out = ["one CPU alone, then CPUs \(cpus.map(String.init).joined(separator: " and ")) at once (one shared table), "
                    + "\(samples) samples per case and CPU",
                   DatapathBench.Mode.block.describe(block: block, warmup: warmup)]
        for e in entries {
            let perCPU = zip(cpus, e.together).map { "CPU \($0.0) \(ns($0.1.net.p50)) ns" }.joined(separator: ", ")
            out.append("  \(e.name): alone \(ns(e.alone.net.p50)) ns net (p10 \(ns(e.alone.net.p10)), p90 \(ns(e.alone.net.p90))); "
                       + "together \(perCPU)")
            out.append(String(format: "      rate (program only): one CPU %.2f Mpps, together %.2f Mpps = %.2f× one CPU",
                              e.aloneMpps, e.togetherMpps, e.scaling))
        }
        return out
    }
}

private func ns(_ x: Double) -> String { String(format: "%.0f", x) }
private func num(_ x: Double) -> String { String(format: "%5.0f", x) }
private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
