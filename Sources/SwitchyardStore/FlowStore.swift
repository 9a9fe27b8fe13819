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
    private let subscription: RedisSubscription?

    /// Nil: a store nobody else writes to; the announcements end at once.
    init(_ subscription: RedisSubscription?) {
        self.subscription = subscription
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let subscription: RedisSubscription?

        /// Messages that do not parse as a flow record are skipped: another writer's channel
        /// traffic must not end the subscription.
        public mutating func next() async throws -> [FlowRecord]? {
            guard let subscription else { return nil }
            while let batch = try await subscription.nextBatch() {
                let records = batch.compactMap { FlowRecord(message: $0.message) }
                if !records.isEmpty { return records }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(subscription: subscription) }
}

public struct FlowStoreUsage: Sendable, Equatable {
    public var entries: Int
    public var bytes: Int
    public init(entries: Int, bytes: Int) {
        self.entries = entries
        self.bytes = bytes
    }
}
