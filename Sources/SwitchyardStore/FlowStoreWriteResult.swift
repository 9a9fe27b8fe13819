import SwitchyardCore

/// What became of a batch of writes the store answered: applied, to send again (a cluster
/// redirect, a node loading or resharding), or refused (counted by why, then dropped).
public struct FlowStoreWriteResult: Sendable, Equatable {
    /// Writes the store applied.
    public var written: Int
    /// Writes to send again: later to the same node, or to the node a redirect names. Not
    /// refusals: a later attempt is expected to succeed.
    public var retry: [FlowStoreRetry]
    /// Writes the store refused, by kind (out of memory, no permission, other). Dropped.
    public var refused: [RedisErrorKind: Int]
    /// The first refusal, as the server worded it, for the log.
    public var firstRefusal: RedisError?

    public init(
        written: Int = 0, retry: [FlowStoreRetry] = [], refused: [RedisErrorKind: Int] = [:],
        firstRefusal: RedisError? = nil
    ) {
        self.written = written
        self.retry = retry
        self.refused = refused
        self.firstRefusal = firstRefusal
    }

    public var refusedCount: Int { refused.values.reduce(0, +) }

    /// Adds another batch's outcomes to this one.
    public mutating func merge(_ other: FlowStoreWriteResult) {
        written += other.written
        retry += other.retry
        refused.merge(other.refused, uniquingKeysWith: +)
        if firstRefusal == nil { firstRefusal = other.firstRefusal }
    }

    /// Error replies by kind, retried and refused alike: what the counters per kind add.
    public var errors: [RedisErrorKind: Int] {
        retry.reduce(into: refused) { counts, retry in counts[retry.error.kind, default: 0] += 1 }
    }

    /// Sorts a pipelined batch's replies by write: `replies` holds, in order, `commandCounts[i]`
    /// replies for `writes[i]`. A write's outcome is its first error reply, if any (a put whose
    /// SET was taken but whose PUBLISH was refused is refused: the other nodes did not hear it).
    /// Throws the first authentication failure: nothing in the batch was applied.
    init(writes: [FlowStoreWrite], commandCounts: [Int], replies: [RESPValue], node: HostPort) throws(RedisError) {
        self.init()
        var next = replies.startIndex
        for (write, count) in zip(writes, commandCounts) {
            let end = min(next + count, replies.endIndex)
            let error = replies[next..<end].lazy.compactMap(\.redisError).first
            next = end
            guard let error else {
                written += 1
                continue
            }
            switch error.handling {
            case .authenticate:
                throw error
            case .redirect:
                retry.append(FlowStoreRetry(write: write, error: error, target: error.redirect?.address(from: node)))
            case .retryLater:
                retry.append(FlowStoreRetry(write: write, error: error, target: nil))
            case .refuse:
                refused[error.kind, default: 0] += 1
                if firstRefusal == nil { firstRefusal = error }
            }
        }
    }
}

/// A write to send again, and where.
public struct FlowStoreRetry: Sendable, Equatable {
    public var write: FlowStoreWrite
    /// Why: MOVED, ASK, TRYAGAIN, LOADING or READONLY, with the server's words.
    public var error: RedisError
    /// MOVED and ASK: the node to send it to (for ASK, once, after ASKING). Nil: the same node,
    /// after a pause — TRYAGAIN, LOADING, READONLY (after finding the primary again), or a
    /// redirect whose target did not parse.
    public var target: HostPort?

    public init(write: FlowStoreWrite, error: RedisError, target: HostPort?) {
        self.write = write
        self.error = error
        self.target = target
    }
}
