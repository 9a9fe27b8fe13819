/// The clocks the datapath reads, as inputs: the model never reads a clock. The kernel reads the
/// same two (`bpf_jiffies64`, `bpf_ktime_get_coarse_ns`), or under a test clock the values a
/// differential test wrote for it (`SY_NODE_F_TEST_CLOCK`).
public struct DatapathTime: Sendable, Hashable, CustomStringConvertible {
    /// Flow-table times: last-seen, synced, idle. Entries hold the low 32 bits.
    public var jiffies: UInt64
    /// The insert budget's clock.
    public var coarseNs: UInt64

    public init(jiffies: UInt64 = 0, coarseNs: UInt64 = 0) {
        self.jiffies = jiffies
        self.coarseNs = coarseNs
    }

    /// What flow entries store.
    public var jiffies32: UInt32 { UInt32(truncatingIfNeeded: jiffies) }

    public var description: String { "jiffies \(jiffies), \(coarseNs) ns" }
}
