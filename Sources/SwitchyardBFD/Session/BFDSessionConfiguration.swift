/// What one session offers the peer: our discriminator and the timers of RFC 5880 §6.8.1.
public struct BFDSessionConfiguration: Hashable, Sendable {
    /// bfd.LocalDiscr: nonzero and unique among this system's sessions; the executor picks it.
    public var localDiscriminator: UInt32
    /// bfd.DesiredMinTxInterval once the session is Up (before that it is at least 1 s, §6.8.3).
    public var desiredMinTxInterval: Duration
    /// bfd.RequiredMinRxInterval: the fastest we are willing to receive.
    public var requiredMinRxInterval: Duration
    /// bfd.DetectMult: how many of our packets the peer may miss before declaring us down.
    public var detectMultiplier: UInt8

    public init(
        localDiscriminator: UInt32, desiredMinTxInterval: Duration, requiredMinRxInterval: Duration,
        detectMultiplier: UInt8
    ) {
        self.localDiscriminator = localDiscriminator
        self.desiredMinTxInterval = desiredMinTxInterval
        self.requiredMinRxInterval = requiredMinRxInterval
        self.detectMultiplier = detectMultiplier
    }

    /// The usual shape: one interval both ways (issue 12's default is 300 ms × 3).
    public init(localDiscriminator: UInt32, interval: Duration = .milliseconds(300), multiplier: UInt8 = 3) {
        self.init(
            localDiscriminator: localDiscriminator, desiredMinTxInterval: interval, requiredMinRxInterval: interval,
            detectMultiplier: multiplier)
    }
}

extension Duration {
    /// Whole microseconds, as BFD intervals travel (RFC 5880 §4.1), clamped to the field.
    var bfdMicroseconds: UInt32 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let micro = seconds.multipliedReportingOverflow(by: 1_000_000)
        guard !micro.overflow else { return UInt32.max }
        return UInt32(clamping: micro.partialValue + attoseconds / 1_000_000_000_000)
    }

    static func bfdMicroseconds(_ value: UInt32) -> Duration {
        .microseconds(Int64(value))
    }
}
