import SwitchyardCore

/// Where LB nodes share stateful flows: the embedded journal for one node, Redis for several.
///
/// A store's connections belong to its owner: `run()` must be running in the owner's task group
/// for `write` to be served (writes wait for it); `snapshot` and `usage` hold a connection for
/// the call, and `follow` for the duration of its body, in the caller's task. `close()` ends
/// `run()` and every `follow`.
///
/// `write` throws only when the store cannot be reached or the connection is not authenticated
/// (the caller keeps the writes and tries again later); per-write outcomes — applied, to retry
/// elsewhere or later, refused — are in the result.
public protocol FlowStore: Sendable {
    var description: String { get }
    /// Whether other LB nodes write here too (then `follow` is worth running).
    var shared: Bool { get }
    /// Owns the store's connection until `close()` or cancellation.
    func run() async throws
    func write(_ writes: [FlowStoreWrite]) async throws -> FlowStoreWriteResult
    /// Every live entry, for a node about to take traffic.
    func snapshot() async throws -> [FlowRecord]
    /// Calls `body` with the entries other nodes announce, once the subscription is in place
    /// (load a snapshot inside `body`, so nothing announced in between is missed). The
    /// announcements end when the store connection ends or the store is closed; a store that is
    /// not shared has none. Throws if the subscription cannot be set up.
    func follow<T>(_ body: (FlowAnnouncements) async throws -> sending T) async throws -> sending T
    /// What the store holds: entries and, where the store can say, bytes.
    func usage() async throws -> FlowStoreUsage
    func close() async
}

/// Entries other nodes announced, in batches as they arrived. Iterate it once, inside the
/// `follow` body it was given to.
public struct FlowAnnouncements: AsyncSequence {
    public typealias Element = [FlowRecord]

    /// Where the messages come from: one subscription (one Redis server), or several merged
    /// into one stream (a cluster's shards), which ends when any of them ends.
    enum Source {
        case none
        case subscription(RedisSubscription)
        case merged(AsyncThrowingStream<[RedisMessage], any Error>)
    }

    private let source: Source

    /// Nil: a store nobody else writes to; the announcements end at once.
    init(_ subscription: RedisSubscription?) {
        source = subscription.map { .subscription($0) } ?? .none
    }

    /// Several subscriptions' messages, merged.
    init(merged: AsyncThrowingStream<[RedisMessage], any Error>) {
        source = .merged(merged)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let subscription: RedisSubscription?
        var merged: AsyncThrowingStream<[RedisMessage], any Error>.AsyncIterator?

        /// Messages that do not parse as a flow record are skipped: another writer's channel
        /// traffic must not end the subscription.
        public mutating func next() async throws -> [FlowRecord]? {
            while let batch = try await nextBatch() {
                let records = batch.compactMap { FlowRecord(message: $0.message) }
                if !records.isEmpty { return records }
            }
            return nil
        }

        private mutating func nextBatch() async throws -> [RedisMessage]? {
            if let subscription { return try await subscription.nextBatch() }
            return try await merged?.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        switch source {
        case .none: AsyncIterator(subscription: nil, merged: nil)
        case .subscription(let subscription): AsyncIterator(subscription: subscription, merged: nil)
        case .merged(let stream): AsyncIterator(subscription: nil, merged: stream.makeAsyncIterator())
        }
    }
}

public struct FlowStoreUsage: Sendable, Equatable {
    public var entries: Int
    public var bytes: Int
    public init(entries: Int, bytes: Int) {
        self.entries = entries
        self.bytes = bytes
    }
}
