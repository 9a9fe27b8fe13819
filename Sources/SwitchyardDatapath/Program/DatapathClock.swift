import Glibc

/// The kernel's jiffies rate, measured through the clock program: flow-table times are jiffies,
/// and config speaks seconds.
public enum DatapathClock {
    /// Jiffies per second (CONFIG_HZ: 100, 250, 300 or 1000).
    public static func hz(_ datapath: LBDatapath) throws -> UInt32 {
        let a = try datapath.readClock()
        usleep(50_000)
        let b = try datapath.readClock()
        let measured = Double(b.jiffies &- a.jiffies) / (Double(b.ktime_ns &- a.ktime_ns) / 1e9)
        return [100, 250, 300, 1000].min { abs(Double($0) - measured) < abs(Double($1) - measured) }!
    }

    public static func jiffies(seconds: Double, hz: UInt32) -> UInt32 {
        UInt32(clamping: Int((seconds * Double(hz)).rounded(.up)))
    }
}
