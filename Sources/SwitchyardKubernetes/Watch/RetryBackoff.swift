/// Exponential backoff with jitter for reconnecting to the API server: doubling from `initial` to
/// `maximum`, each delay drawn in [½, 1] of its step so many clients restarting together spread out.
/// Pure: the jitter is an input in [0, 1).
public struct RetryBackoff: Sendable, Equatable {
    public let initial: Double
    public let maximum: Double
    public private(set) var failures = 0

    public init(initial: Double = 0.5, maximum: Double = 30) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// The delay before the next attempt, in seconds; counts one more failure.
    public mutating func nextDelay(jitter: Double) -> Double {
        let step = min(maximum, initial * Double(1 << min(failures, 30)))
        failures += 1
        return step * (0.5 + 0.5 * min(max(jitter, 0), 1))
    }

    /// After a success: the next failure starts from `initial` again.
    public mutating func reset() { failures = 0 }
}
