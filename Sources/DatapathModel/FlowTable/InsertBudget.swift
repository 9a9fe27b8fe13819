/// The per-CPU token bucket that bounds flow-table inserts (conntrack.h `insert_allowed`): each
/// insert costs 1/rate s of credit; credit refills with time, capped at one second's worth.
/// Arithmetic wraps exactly as the kernel's u64 does, so a clock that steps back agrees too.
public struct InsertBudget: Sendable, Hashable, CustomStringConvertible {
    static let nanosecondsPerSecond: UInt64 = 1_000_000_000

    public var lastNs: UInt64
    /// Time-denominated credit, at most one second.
    public var creditNs: UInt64

    public init(lastNs: UInt64 = 0, creditNs: UInt64 = 0) {
        self.lastNs = lastNs
        self.creditNs = creditNs
    }

    /// Spends one insert's worth at `now` if there is enough; the state moves either way.
    public mutating func allow(rate: UInt32, now: UInt64) -> Bool {
        guard rate > 0 else { return true }
        let cost = Self.nanosecondsPerSecond / UInt64(rate)
        let credit = min(creditNs &+ (now &- lastNs), Self.nanosecondsPerSecond)
        lastNs = now
        guard credit >= cost else {
            creditNs = credit
            return false
        }
        creditNs = credit - cost
        return true
    }

    public var description: String { "last \(lastNs) ns, credit \(creditNs) ns" }
}
