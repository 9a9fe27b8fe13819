import NIOCore

/// The executor's one clock: the state machines take time as `Duration` since the service
/// started, and their timer deadlines come back in the same unit; this converts both ways.
struct BFDClock: Sendable {
    let origin: NIODeadline

    init(origin: NIODeadline = .now()) {
        self.origin = origin
    }

    var now: Duration { .nanoseconds(Int64(NIODeadline.now().uptimeNanoseconds) - Int64(origin.uptimeNanoseconds)) }

    func deadline(_ instant: Duration) -> NIODeadline {
        let (seconds, attoseconds) = instant.components
        return origin + .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
