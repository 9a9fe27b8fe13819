import NIOCore
import SwitchyardCore
import Synchronization

/// The cluster store's long reads: snapshot and usage read every primary (its own connection
/// per call, as `RedisFlowStore` does, so no `run()` is needed and writes never queue behind a
/// SCAN); `follow` holds one sharded subscription per primary.
extension RedisClusterFlowStore {
    /// Every live entry, from every primary. Fails when a slot has no primary or a primary
    /// cannot be read: a node about to take traffic must not start from a partial copy.
    public func snapshot() async throws -> [FlowRecord] {
        let parts = try await eachPrimary { client in try await client.flowSnapshot() }
        return parts.flatMap { $0 }
    }

    /// Entries and used memory, summed over the primaries.
    public func usage() async throws -> FlowStoreUsage {
        let parts = try await eachPrimary { client in try await client.flowUsage() }
        return FlowStoreUsage(entries: parts.map(\.entries).reduce(0, +), bytes: parts.map(\.bytes).reduce(0, +))
    }

    /// `read` on every primary of a fresh topology that serves every slot, in parallel.
    private func eachPrimary<T: Sendable>(
        _ read: @escaping @Sendable (RedisClient) async throws -> T
    ) async throws -> [T] {
        try checkOpen()
        let topology = try await topology(refresh: true)
        let unserved = topology.unservedSlots
        guard unserved.isEmpty else { throw RedisClusterError.slotsUnserved(unserved) }
        let options = options
        return try await withThrowingTaskGroup(of: T.self) { group in
            for node in topology.primaries {
                group.addTask {
                    do {
                        return try await RedisClient.withClient(to: node, options: options, read)
                    } catch let error as RedisError {
                        throw error
                    } catch {
                        throw RedisClusterError.primaryUnreachable(node, "\(error)")
                    }
                }
            }
            var all: [T] = []
            for try await part in group { all.append(part) }
            return all
        }
    }

    // MARK: Follow

    /// Subscribes to every channel on its primary (one connection per primary) from a fresh
    /// topology, and calls `body` once every primary confirmed. The announcements end, with an
    /// error, when any subscription ends; every connection is closed before this returns.
    public func follow<T>(_ body: (FlowAnnouncements) async throws -> sending T) async throws -> sending T {
        try checkOpen()
        let topology = try await topology(refresh: true)
        var groups: [HostPort: [String]] = [:]
        for (name, slot) in zip(channels.names, channels.slots) {
            guard let node = topology.primary(forSlot: slot) else {
                throw RedisClusterError.slotsUnserved([slot...slot])
            }
            groups[node, default: []].append(name)
        }
        guard !groups.isEmpty else { throw RedisClusterError.slotsUnserved(topology.unservedSlots) }
        let (merged, sink) = AsyncThrowingStream<[RedisMessage], any Error>.makeStream()
        let (ready, readySink) = AsyncStream<(any Error)?>.makeStream()
        let opened = OpenChannels()
        // One task per primary, each owning its connection; they are ended and awaited below
        // whatever `body` does, so none outlives `follow`.
        let readers = groups.map { node, names in
            Task { [options] in
                var confirmed = false
                do {
                    try await RedisClient.subscribe(to: node, options: options, channels: names, sharded: true) {
                        subscription in
                        let channel = subscription.channel
                        let id = ObjectIdentifier(channel)
                        guard opened.add(id, channel), register(id, channel) else {
                            throw RedisClientError.closed(node)
                        }
                        defer { unregister(id) }
                        confirmed = true
                        readySink.yield(nil)
                        while let batch = try await subscription.nextBatch() { sink.yield(batch) }
                        throw RedisClusterError.subscriptionEnded(node, "connection closed")
                    }
                } catch {
                    if !confirmed { readySink.yield(error) }
                    sink.finish(throwing: error)
                }
            }
        }
        defer {
            opened.closeAll()
            for reader in readers { reader.cancel() }
        }
        var failure: (any Error)?
        var answered = 0
        for await error in ready {
            failure = failure ?? error
            answered += 1
            if answered == readers.count { break }
        }
        // Cancelled while subscribing: the stream ended early.
        if answered < readers.count { failure = failure ?? CancellationError() }
        if let failure {
            await endAll(readers, opened)
            throw failure
        }
        do {
            let result = try await body(FlowAnnouncements(merged: merged))
            await endAll(readers, opened)
            return result
        } catch {
            await endAll(readers, opened)
            throw error
        }
    }

    /// Closes every subscription connection and waits for its reader.
    private func endAll(_ readers: [Task<Void, Never>], _ opened: OpenChannels) async {
        opened.closeAll()
        for reader in readers { await reader.value }
    }

    /// Records an open subscription for `close()`; false when the store is already closed.
    private func register(_ id: ObjectIdentifier, _ channel: any Channel) -> Bool {
        state.withLock { state in
            if state.closed { return false }
            state.subscriptions[id] = channel
            return true
        }
    }

    private func unregister(_ id: ObjectIdentifier) {
        _ = state.withLock { $0.subscriptions.removeValue(forKey: id) }
    }
}

/// One `follow`'s subscription connections, for it to close whatever its body did. Once
/// closed, a connection that confirms late is refused (its reader ends instead of following).
private final class OpenChannels: Sendable {
    private let state = Mutex<(closed: Bool, channels: [ObjectIdentifier: any Channel])>((false, [:]))

    /// False when `closeAll` already ran: close this one too.
    func add(_ id: ObjectIdentifier, _ channel: any Channel) -> Bool {
        state.withLock { state in
            if !state.closed { state.channels[id] = channel }
            return !state.closed
        }
    }

    func closeAll() {
        let open = state.withLock { state in
            state.closed = true
            return Array(state.channels.values)
        }
        for channel in open { channel.close(promise: nil) }
    }
}
