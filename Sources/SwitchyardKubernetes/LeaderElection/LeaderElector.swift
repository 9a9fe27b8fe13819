/// One active controller through a `coordination.k8s.io` Lease, with client-go's semantics, as
/// a pure state machine: inputs are ticks, observed Leases and write results; outputs are reads,
/// writes (with the resourceVersion precondition), leadership changes and the next wake-up.
///
/// Why it is safe (no two instances think they lead at one instant):
/// - expiry is judged by when THIS instance saw the record change (local monotonic time),
///   never by comparing the remote `renewTime` with the local clock, so clock skew between
///   nodes does not matter — only the rate of local clocks does;
/// - a candidate takes over only after the record has been unchanged for the record's
///   `leaseDurationSeconds`, and only by an update with the observed resourceVersion as
///   precondition (a renewal in between makes it a conflict);
/// - a leader counts its lease from when it SENT the last successful write (the server applied
///   it later, so others saw the change later) and steps down `renewDeadline` after that, which
///   is before `leaseDuration` could let anyone else in.
///
/// A graceful shutdown releases the lease (holder cleared, `leaseDurationSeconds: 1`) after
/// stepping down, so a restarted controller takes over at once.
public struct LeaderElector: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Unique per instance (pod name plus a random suffix, as client-go does).
        public var identity: String
        public var leaseNamespace: String
        public var leaseName: String
        public var leaseDuration: Duration
        public var renewDeadline: Duration
        public var retryPeriod: Duration

        public init(
            identity: String, leaseNamespace: String = "switchyard-system",
            leaseName: String = Lease.controllerLeaseName, leaseDuration: Duration = .seconds(15),
            renewDeadline: Duration = .seconds(10), retryPeriod: Duration = .seconds(2)
        ) {
            self.identity = identity
            self.leaseNamespace = leaseNamespace
            self.leaseName = leaseName
            self.leaseDuration = leaseDuration
            self.renewDeadline = renewDeadline
            self.retryPeriod = retryPeriod
        }

        /// client-go's checks: leaseDuration > renewDeadline > retryPeriod > 0, an identity,
        /// and a whole number of seconds for the lease (the record stores seconds). Empty when valid.
        public var validationErrors: [String] {
            var errors: [String] = []
            if identity.isEmpty { errors.append("identity is empty: give each instance a unique one") }
            if !(leaseDuration > renewDeadline) { errors.append("leaseDuration must be greater than renewDeadline") }
            if !(renewDeadline > retryPeriod) { errors.append("renewDeadline must be greater than retryPeriod") }
            if !(retryPeriod > .zero) { errors.append("retryPeriod must be positive") }
            if leaseDuration.components.attoseconds != 0 || leaseDuration < .seconds(1) {
                errors.append("leaseDuration must be a whole number of seconds, at least 1")
            }
            return errors
        }
    }

    /// Now, twice: local monotonic time decides; wall time is only written into the record.
    public struct Instant: Sendable, Hashable {
        public var monotonic: Duration
        public var wall: KubeTime

        public init(monotonic: Duration, wall: KubeTime) {
            self.monotonic = monotonic
            self.wall = wall
        }
    }

    public enum Action: Sendable, Hashable {
        /// GET the Lease; report with `leaseObserved` (nil when it does not exist).
        case readLease
        /// POST this Lease; report with `writeSucceeded` / `writeConflicted` (409 AlreadyExists)
        /// / `writeFailed`.
        case createLease(Lease)
        /// PUT this Lease; `metadata.resourceVersion` is the precondition.
        case updateLease(Lease)
        case becameLeader
        /// Stop every write at once and exit: another instance may lead soon.
        case lostLeadership(reason: String)
        /// Call `tick` at (or after) this monotonic time.
        case wakeUp(at: Duration)
    }

    enum Phase: Hashable {
        case candidate
        /// Leading; the lease counts from when the last successful write was sent.
        case leader(renewedAt: Duration)
        case stopped
    }

    enum Pending: Hashable {
        case reading(since: Duration)
        case writing(sentAt: Duration)
    }

    public let configuration: Configuration
    var phase: Phase = .candidate
    var pending: Pending?
    /// The record last seen, and when (locally) it last changed.
    var observed: Lease?
    var observedChangedAt: Duration = .zero
    var nextAttemptAt: Duration = .zero

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Whether this instance may act as leader at `now`. False from the renew deadline on,
    /// even before the tick that reports `lostLeadership` arrives.
    public func isLeader(at now: Duration) -> Bool {
        guard case .leader(let renewedAt) = phase else { return false }
        return now < renewedAt + configuration.renewDeadline
    }

    public var hasStopped: Bool { phase == .stopped }

    /// Time passed: step down at the renew deadline, start an attempt every `retryPeriod`.
    public mutating func tick(at now: Instant) -> [Action] {
        guard phase != .stopped else { return [] }
        if let lost = checkDeadline(now.monotonic) { return [lost] }
        var actions: [Action] = []
        // A request the I/O layer never answered does not block the next attempts forever.
        if let pending, now.monotonic - pending.startedAt >= configuration.renewDeadline { self.pending = nil }
        if pending == nil, now.monotonic >= nextAttemptAt {
            pending = .reading(since: now.monotonic)
            nextAttemptAt = now.monotonic + configuration.retryPeriod
            actions.append(.readLease)
        }
        actions.append(.wakeUp(at: nextWakeUp(now.monotonic)))
        return actions
    }

    /// The Lease as read (or as a watch delivered it); nil when it does not exist.
    public mutating func leaseObserved(_ lease: Lease?, at now: Instant) -> [Action] {
        guard phase != .stopped else { return [] }
        record(lease, at: now.monotonic)
        if case .leader = phase, let lease, lease.spec.holderIdentity != configuration.identity {
            phase = .stopped
            return [.lostLeadership(reason: "the lease is now held by \(lease.spec.holderIdentity ?? "nobody")")]
        }
        if let lost = checkDeadline(now.monotonic) { return [lost] }
        guard case .reading = pending else { return [.wakeUp(at: nextWakeUp(now.monotonic))] }
        pending = nil
        var actions: [Action] = []
        if let write = attempt(lease, at: now) {
            pending = .writing(sentAt: now.monotonic)
            actions.append(write)
        }
        actions.append(.wakeUp(at: nextWakeUp(now.monotonic)))
        return actions
    }

    /// The server accepted our create or update and returned this Lease.
    public mutating func writeSucceeded(_ lease: Lease, at now: Instant) -> [Action] {
        guard phase != .stopped, case .writing(let sentAt) = pending else { return [] }
        pending = nil
        record(lease, at: now.monotonic)
        var actions: [Action] = []
        if lease.spec.holderIdentity == configuration.identity {
            switch phase {
            case .candidate:
                // Too late to count (the deadline of this write has passed): renew first.
                if now.monotonic < sentAt + configuration.renewDeadline {
                    phase = .leader(renewedAt: sentAt)
                    actions.append(.becameLeader)
                }
            case .leader(let renewedAt):
                phase = .leader(renewedAt: max(renewedAt, sentAt))
            case .stopped:
                break
            }
        }
        if let lost = checkDeadline(now.monotonic) { return actions + [lost] }
        return actions + [.wakeUp(at: nextWakeUp(now.monotonic))]
    }

    /// 409: someone else wrote first. The next attempt reads again.
    public mutating func writeConflicted(at now: Instant) -> [Action] {
        writeEnded(at: now)
    }

    /// Any other failure (timeout, 5xx): the write may or may not have been applied, so it
    /// counts for nothing; the next attempt reads again.
    public mutating func writeFailed(_ message: String, at now: Instant) -> [Action] {
        writeEnded(at: now)
    }

    /// The read failed (timeout, 5xx): the next attempt, a retry period after this one started,
    /// reads again — a leader keeps its deadline, so a few failed reads cost nothing.
    public mutating func readFailed(at now: Instant) -> [Action] {
        guard phase != .stopped, case .reading = pending else { return [] }
        pending = nil
        if let lost = checkDeadline(now.monotonic) { return [lost] }
        return [.wakeUp(at: nextWakeUp(now.monotonic))]
    }

    /// Graceful shutdown: step down first, then release the lease so a successor need not wait.
    public mutating func shutdownRequested(at now: Instant) -> [Action] {
        let wasLeader = isLeader(at: now.monotonic)
        guard phase != .stopped else { return [] }
        phase = .stopped
        pending = nil
        guard wasLeader, var lease = observed, lease.spec.holderIdentity == configuration.identity else {
            return wasLeader ? [.lostLeadership(reason: "shutting down")] : []
        }
        lease.spec.holderIdentity = nil
        lease.spec.leaseDurationSeconds = 1
        lease.spec.acquireTime = now.wall.rfc3339Micro
        lease.spec.renewTime = now.wall.rfc3339Micro
        return [.lostLeadership(reason: "shutting down"), .updateLease(lease)]
    }

    // MARK: - Rules

    private mutating func writeEnded(at now: Instant) -> [Action] {
        guard phase != .stopped, case .writing = pending else { return [] }
        pending = nil
        if let lost = checkDeadline(now.monotonic) { return [lost] }
        return [.wakeUp(at: nextWakeUp(now.monotonic))]
    }

    private mutating func record(_ lease: Lease?, at now: Duration) {
        if lease?.spec != observed?.spec || lease?.metadata.resourceVersion != observed?.metadata.resourceVersion {
            observedChangedAt = now
        }
        observed = lease
    }

    private mutating func checkDeadline(_ now: Duration) -> Action? {
        guard case .leader(let renewedAt) = phase, now >= renewedAt + configuration.renewDeadline else { return nil }
        phase = .stopped
        pending = nil
        return .lostLeadership(reason: "could not renew the lease within renewDeadline")
    }

    /// The write to make after reading `lease`, if any.
    private func attempt(_ lease: Lease?, at now: Instant) -> Action? {
        let seconds = Int32(clamping: configuration.leaseDuration.components.seconds)
        let stamp = now.wall.rfc3339Micro
        guard var lease else {
            let spec = LeaseSpec(
                holderIdentity: configuration.identity, leaseDurationSeconds: seconds, acquireTime: stamp,
                renewTime: stamp, leaseTransitions: 0)
            let metadata = ObjectMeta(name: configuration.leaseName, namespace: configuration.leaseNamespace)
            return .createLease(Lease(metadata: metadata, spec: spec))
        }
        let holder = lease.spec.holderIdentity ?? ""
        if holder == configuration.identity {
            lease.spec.renewTime = stamp
            lease.spec.leaseDurationSeconds = seconds
            return .updateLease(lease)
        }
        if !holder.isEmpty {
            let recordDuration = Duration.seconds(Int64(lease.spec.leaseDurationSeconds ?? seconds))
            guard now.monotonic >= observedChangedAt + recordDuration else { return nil }
        }
        lease.spec.holderIdentity = configuration.identity
        lease.spec.leaseDurationSeconds = seconds
        lease.spec.acquireTime = stamp
        lease.spec.renewTime = stamp
        lease.spec.leaseTransitions = (lease.spec.leaseTransitions ?? 0) + 1
        return .updateLease(lease)
    }

    private func nextWakeUp(_ now: Duration) -> Duration {
        var wake = pending == nil ? nextAttemptAt : now + configuration.retryPeriod
        if case .leader(let renewedAt) = phase { wake = min(wake, renewedAt + configuration.renewDeadline) }
        return max(wake, now)
    }
}

extension LeaderElector.Pending {
    var startedAt: Duration {
        switch self {
        case .reading(let since): since
        case .writing(let sentAt): sentAt
        }
    }
}
