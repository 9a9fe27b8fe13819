import NIOCore

/// An executor's one clock: its pure state machines take time as `Duration` since the executor
/// started, and their timer deadlines come back in the same unit; this converts both ways
/// (the BGP speaker's and the BFD service's).
public struct ExecutorClock: Sendable {
    public let origin: NIODeadline

    public init(origin: NIODeadline = .now()) {
        self.origin = origin
    }

    public var now: Duration {
        .nanoseconds(Int64(NIODeadline.now().uptimeNanoseconds) - Int64(origin.uptimeNanoseconds))
    }

    public func deadline(_ instant: Duration) -> NIODeadline {
        let (seconds, attoseconds) = instant.components
        return origin + .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
