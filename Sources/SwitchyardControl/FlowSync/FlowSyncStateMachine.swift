import SwitchyardCore

/// Stateful mode's traffic with the flow store, decided purely: the bounded write queue, retry
/// backoff, and the order of a reconnection. Time is an input (`at:`, a monotonic instant as a
/// `Duration` since an origin the executor picks); timers are actions.
///
/// Writes: one batch in flight at most. While the store is unreachable writes wait in a queue of
/// `maxPending` (oldest dropped first, counted: a flow's newest write supersedes its older ones,
/// and forwarding never waits for the store). Failed batches go back to the front of the queue
/// and are retried after an exponential backoff (100 ms doubling to 5 s). Writes the store
/// redirects or asks to retry (cluster MOVED/ASK, TRYAGAIN, LOADING) are queued again, never
/// counted as refused; writes it refuses (OOM, NOPERM, …) are counted by kind.
///
/// Subscription (shared stores): subscribe, then — after an outage only — re-write this node's
/// own live entries (a restarted Redis comes back empty), then load the store's entries (those
/// announced while unsubscribed). A failure anywhere in that chain waits a backoff and starts
/// over from subscribing.
public struct FlowSyncStateMachine: Sendable {
    public static let defaultMaxPending = 500_000
    /// The largest batch sent in one round trip: bounds the request the store must buffer.
    public static let maxBatch = 20_000

    public enum Timer: String, Sendable, Hashable {
        case retryWrites
        case resubscribe
    }

    public enum Action: Sendable, Equatable {
        /// Send this batch; report `writeCompleted` or `writeFailed`.
        case write([FlowStoreWrite])
        /// Open the subscription; report `subscribed` or `subscriptionFailed`.
        case subscribe
        /// Write this node's live entries to the store; report `ownEntriesWritten` or
        /// `subscriptionFailed`.
        case rewriteOwnEntries
        /// Read the store's entries and install them; report `snapshotLoaded` or
        /// `subscriptionFailed`.
        case loadSnapshot
        /// Report `timerFired(timer, at:)` at this instant.
        case armTimer(Timer, at: Duration)
        /// The store became reachable (true) or was lost (false).
        case storeReachable(Bool)
        case log(AgentLogRecord)
    }

    /// How the store answered one batch.
    public struct WriteOutcome: Sendable, Equatable {
        /// Writes to send again (redirected, or the store asked for a later retry).
        public var retry: [FlowStoreWrite]
        /// Writes refused, by error kind; every error reply by kind, retried ones included.
        public var refused: [String: Int]
        public var errors: [String: Int]
        /// The first refusal as the store worded it.
        public var firstRefusal: String?

        public init(
            retry: [FlowStoreWrite] = [], refused: [String: Int] = [:], errors: [String: Int] = [:],
            firstRefusal: String? = nil
        ) {
            self.retry = retry
            self.refused = refused
            self.errors = errors
            self.firstRefusal = firstRefusal
        }
    }

    /// Counts for status and metrics.
    public struct Counts: Sendable, Equatable {
        /// Writes waiting; dropped because the queue was full; failed attempts to reach the store;
        /// writes queued again because the store redirected them or asked for a retry.
        public var pending = 0, dropped = 0, storeFailures = 0, retried = 0
        /// Writes the store refused, by error kind (`oom`, `noperm`, `other`, …).
        public var refused: [String: Int] = [:]
        /// Every error reply by kind (`moved`, `ask`, `tryagain`, `loading`, refusals, …).
        public var errors: [String: Int] = [:]
        /// Recoveries (a lost subscription: the store restarted, failed over, or moved a
        /// channel) and this node's own live entries re-written in them: what a store that
        /// lost its last writes got back from this node.
        public var recoveries = 0, rewritten = 0
        public init() {}
    }

    enum Subscription: Sendable, Equatable {
        case off, subscribing, rewriting, loading, live, waiting
    }

    public let maxPending: Int
    public let store: String
    public private(set) var counts = Counts()
    private var pending: [FlowStoreWrite] = []
    private var inFlight: [FlowStoreWrite]?
    private var writeFailures = 0
    /// Batches in a row the store answered with writes to retry.
    private var retryRounds = 0
    private var retryAt: Duration?
    private var retryArmed = false
    private var droppedThisOutage = 0
    private(set) var subscription = Subscription.off
    private var subscriptionFailures = 0
    /// Set once the subscription was lost: the next one re-writes own entries first.
    private var recovering = false
    private var rewritten = 0

    public init(store: String, maxPending: Int = Self.defaultMaxPending) {
        self.store = store
        self.maxPending = max(1, maxPending)
    }

    static func backoff(_ failures: Int) -> Duration {
        .milliseconds(min(5000, 100 << min(max(failures - 1, 0), 6)))
    }

    // MARK: - Writes

    public mutating func writesQueued(_ writes: [FlowStoreWrite], at now: Duration) -> [Action] {
        guard !writes.isEmpty else { return [] }
        pending += writes
        return bound() + sendIfDue(now)
    }

    public mutating func writeCompleted(_ outcome: WriteOutcome, at now: Duration) -> [Action] {
        let retry = outcome.retry
        let refused = outcome.refused
        for (kind, n) in outcome.errors { counts.errors[kind, default: 0] += n }
        inFlight = nil
        var actions: [Action] = []
        if writeFailures > 0 {
            actions += [
                .log(
                    .init(.notice, "flow store reachable again", ["store": store, "dropped": "\(droppedThisOutage)"])),
                .storeReachable(true),
            ]
            writeFailures = 0
            droppedThisOutage = 0
        }
        retryAt = nil
        let refusedCount = refused.values.reduce(0, +)
        if refusedCount > 0 {
            for (kind, n) in refused { counts.refused[kind, default: 0] += n }
            actions.append(
                .log(
                    .init(
                        .warning, "flow store refused writes",
                        [
                            "store": store, "refused": "\(refusedCount)", "first": outcome.firstRefusal ?? "",
                        ])))
        }
        if !retry.isEmpty {
            counts.retried += retry.count
            pending = retry + pending
            actions += bound()
            // Give a redirecting or loading store a moment before the next round; a store that
            // keeps asking (a cluster shard down: CLUSTERDOWN until it returns) longer and longer
            // ones, up to 5 s, rather than ten rounds a second for the whole outage.
            retryRounds += 1
            retryAt = now + Self.backoff(retryRounds)
            actions += armRetry()
        } else {
            retryRounds = 0
        }
        return actions + sendIfDue(now)
    }

    public mutating func writeFailed(error: String, at now: Duration) -> [Action] {
        var actions: [Action] = []
        if let batch = inFlight {
            pending = batch + pending
            inFlight = nil
            actions += bound()
        }
        counts.storeFailures += 1
        if writeFailures == 0 {
            actions += [
                .log(
                    .init(
                        .error, "flow store unreachable; forwarding continues on local entries",
                        ["store": store, "error": error])),
                .storeReachable(false),
            ]
        }
        writeFailures += 1
        retryAt = now + Self.backoff(writeFailures)
        counts.pending = pending.count
        return actions + armRetry()
    }

    // MARK: - Subscription

    /// Shared stores only: start following what other nodes announce.
    public mutating func started(at now: Duration) -> [Action] {
        guard subscription == .off else { return [] }
        subscription = .subscribing
        return [.subscribe]
    }

    public mutating func subscribed(at now: Duration) -> [Action] {
        guard subscription == .subscribing else { return [] }
        if recovering {
            subscription = .rewriting
            return [.rewriteOwnEntries]
        }
        subscription = .loading
        return [.loadSnapshot]
    }

    /// This node's own entries were sent to the store (in batches of at most `maxBatch`);
    /// `outcome` merges their replies: writes the store redirected or asked to retry (a cluster
    /// still failing over answers CLUSTERDOWN or TRYAGAIN) join the write queue, so none is lost.
    public mutating func ownEntriesWritten(
        _ count: Int, outcome: WriteOutcome = WriteOutcome(), at now: Duration
    ) -> [Action] {
        guard subscription == .rewriting else { return [] }
        rewritten = count
        counts.recoveries += 1
        counts.rewritten += count
        subscription = .loading
        var actions: [Action] = [.loadSnapshot]
        for (kind, n) in outcome.errors { counts.errors[kind, default: 0] += n }
        for (kind, n) in outcome.refused { counts.refused[kind, default: 0] += n }
        if !outcome.retry.isEmpty {
            counts.retried += outcome.retry.count
            pending = outcome.retry + pending
            actions += bound()
            retryAt = max(retryAt ?? now, now + Self.backoff(1))
            actions += armRetry()
        }
        return actions
    }

    public mutating func snapshotLoaded(records: Int, installed: Int, at now: Duration) -> [Action] {
        guard subscription == .loading else { return [] }
        subscription = .live
        var actions: [Action] = []
        if recovering {
            actions += [
                .log(
                    .init(
                        .notice, "flow store subscription restored",
                        [
                            "store": store, "own_entries_rewritten": "\(rewritten)", "store_entries": "\(records)",
                            "installed": "\(installed)",
                        ])),
                .storeReachable(true),
            ]
        }
        recovering = false
        subscriptionFailures = 0
        return actions
    }

    /// Subscribing, re-writing, loading, or the live subscription failed.
    public mutating func subscriptionFailed(error: String, at now: Duration) -> [Action] {
        guard subscription != .off, subscription != .waiting else { return [] }
        var actions: [Action] = []
        if subscriptionFailures == 0 {
            actions += [
                .log(.init(.error, "flow store subscription lost", ["store": store, "error": error])),
                .storeReachable(false),
            ]
        }
        subscriptionFailures += 1
        recovering = true
        subscription = .waiting
        return actions + [.armTimer(.resubscribe, at: now + Self.backoff(subscriptionFailures))]
    }

    public mutating func timerFired(_ timer: Timer, at now: Duration) -> [Action] {
        switch timer {
        case .retryWrites:
            retryArmed = false
            return sendIfDue(now)
        case .resubscribe:
            guard subscription == .waiting else { return [] }
            subscription = .subscribing
            return [.subscribe]
        }
    }

    // MARK: - Helpers

    /// Drops the oldest writes beyond `maxPending`.
    private mutating func bound() -> [Action] {
        defer { counts.pending = pending.count }
        guard pending.count > maxPending else { return [] }
        let excess = pending.count - maxPending
        pending.removeFirst(excess)
        counts.dropped += excess
        let first = droppedThisOutage == 0
        droppedThisOutage += excess
        return first
            ? [
                .log(
                    .init(
                        .warning, "flow store unreachable: oldest writes dropped",
                        ["store": store, "dropped": "\(excess)", "queue": "\(maxPending)"]))
            ]
            : []
    }

    private mutating func sendIfDue(_ now: Duration) -> [Action] {
        guard inFlight == nil, !pending.isEmpty else { return [] }
        if let retryAt, now < retryAt { return armRetry() }
        let batch = Array(pending.prefix(Self.maxBatch))
        pending.removeFirst(batch.count)
        counts.pending = pending.count
        inFlight = batch
        return [.write(batch)]
    }

    private mutating func armRetry() -> [Action] {
        guard let retryAt, !retryArmed else { return [] }
        retryArmed = true
        return [.armTimer(.retryWrites, at: retryAt)]
    }
}

extension FlowSharing {
    /// Folds the store traffic counts into the agent's flow-sharing status.
    public mutating func merge(_ sync: FlowSyncStateMachine.Counts) {
        pending = sync.pending
        dropped = sync.dropped
        storeFailures = sync.storeFailures
        retried = sync.retried
        refusedByKind = sync.refused
        storeErrors = sync.errors
        refused = sync.refused.values.reduce(0, +)
        recoveries = sync.recoveries
        rewritten = sync.rewritten
    }
}
