import NIOCore
import SwitchyardCore
import Synchronization

extension RedisFlowStore {
    /// Follows the primary the sentinels name while watching a sentinel for `+switch-master`.
    /// The watch is in place before the primary is looked up, so no failover goes unseen. A
    /// failover ends the announcements and throws `RedisSentinelError.primarySwitched` (and
    /// drops the write connection, so the next write finds the new primary); so does the end
    /// of the watch (`watchLost`). The caller subscribes again and, being in recovery, re-writes
    /// its own entries: the new primary may not have had the last writes replicated to it.
    func follow<T>(
        _ sentinel: RedisSentinel, _ body: (FlowAnnouncements) async throws -> sending T
    ) async throws -> sending T {
        try checkOpen()
        let watch = SentinelWatch()
        let writer = writer
        let (events, sink) = AsyncStream<Void>.makeStream()
        // Not a task group: `body`'s result is `sending`, which a group's result cannot be. The
        // watcher is awaited on every path out, so it never outlives this call.
        let watcher = Task {
            defer { sink.finish() }
            do {
                try await sentinel.watch { sentinel, channel in
                    watch.watching(sentinel, channel)
                    sink.yield()
                } switched: { change in
                    watch.switched(change)
                    writer.disconnect()
                }
                watch.ended(RedisSentinelError.watchLost(masterName: sentinel.masterName, sentinel: watch.sentinel))
            } catch {
                watch.ended(error)
            }
        }
        let result: T
        do {
            var ready = events.makeAsyncIterator()
            guard await ready.next() != nil else { throw watch.reason ?? RedisClientError.closed(address) }
            let primary = try await sentinel.primary()
            let subscribed: (any Channel) -> Void = { watch.following(primary, $0) }
            result = try await follow(at: primary, subscribed: subscribed) { try await body($0) }
        } catch {
            watch.stop()
            watcher.cancel()
            await watcher.value
            throw error
        }
        let reason = watch.reason
        watch.stop()
        watcher.cancel()
        await watcher.value
        if let reason { throw reason }
        return result
    }
}

/// What the follow of a Sentinel-managed primary and its sentinel watch share: the watched
/// sentinel's connection, the followed primary's subscription, and why the follow must end.
/// A switch to another address than the one followed, or the watch's end, closes the
/// subscription (its announcements end) and is kept as the reason.
final class SentinelWatch: Sendable {
    private struct State {
        var sentinel: HostPort?
        var watchConnection: (any Channel)?
        var primary: HostPort?
        var subscription: (any Channel)?
        /// A switch seen before the primary was followed.
        var pending: RedisSentinelSwitch?
        var reason: (any Error)?
        var stopped = false
    }

    private let state = Mutex(State())

    var reason: (any Error)? { state.withLock { $0.reason } }
    var sentinel: String { state.withLock { $0.sentinel.map(\.description) ?? "?" } }

    func watching(_ sentinel: HostPort, _ connection: any Channel) {
        let stopped = state.withLock { state in
            state.sentinel = sentinel
            state.watchConnection = connection
            return state.stopped
        }
        if stopped { connection.close(promise: nil) }
    }

    /// The primary is followed on `subscription`: a switch already seen to another address ends it.
    func following(_ primary: HostPort, _ subscription: any Channel) {
        let close = state.withLock { state -> Bool in
            state.primary = primary
            state.subscription = subscription
            guard let pending = state.pending, pending.to != primary else { return state.reason != nil }
            state.reason = state.reason ?? RedisSentinelError.primarySwitched(pending)
            return true
        }
        if close { subscription.close(promise: nil) }
    }

    func switched(_ change: RedisSentinelSwitch) {
        let subscription = state.withLock { state -> (any Channel)? in
            guard let primary = state.primary else {
                state.pending = change
                return nil
            }
            guard change.to != primary, state.reason == nil else { return nil }
            state.reason = RedisSentinelError.primarySwitched(change)
            return state.subscription
        }
        subscription?.close(promise: nil)
    }

    /// The watch ended: the follow ends too, unless it already has a reason.
    func ended(_ error: any Error) {
        let subscription = state.withLock { state -> (any Channel)? in
            guard state.reason == nil else { return nil }
            state.reason = error
            return state.subscription
        }
        subscription?.close(promise: nil)
    }

    /// The follow is over: close the watch, and forget why (a later watch end is no news).
    func stop() {
        let connection = state.withLock { state -> (any Channel)? in
            if state.reason == nil { state.reason = CancellationError() }
            state.stopped = true
            return state.watchConnection
        }
        connection?.close(promise: nil)
    }
}
