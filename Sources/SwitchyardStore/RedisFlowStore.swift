import NIOCore
import SwitchyardCore
import Synchronization

/// The Redis store, on one server (kind redis) or on the primary Sentinel names (kind
/// redis-sentinel). Writes go out as one pipelined batch on the long-lived connection `run()`
/// owns (SET with EX, PUBLISH for announced entries, DEL); after a failure the next write opens
/// a new one, to wherever the primary is then. The rare long reads — a snapshot, usage — open a
/// connection for the call, so they need no `run()` (a node loads the store before it starts)
/// and never hold writes up behind a SCAN. Announcements arrive by subscription on a connection
/// of `follow`'s own; with Sentinel they end at a failover (`RedisFlowStore+Sentinel.swift`).
///
/// The least an ACL user needs is `minimalACL`.
public final class RedisFlowStore: FlowStore {
    /// The ACL rules that let a user do all the store does and nothing else: SET (with EX),
    /// GET, DEL and SCAN on the flow keys (`FlowRecord.keyPattern`), PUBLISH and SUBSCRIBE on the
    /// flow channel (`FlowRecord.channel`), INFO (used memory), ROLE (Sentinel: confirming the
    /// primary). AUTH needs no rule. As one line:
    ///
    ///     ACL SETUSER switchyard on >PASSWORD resetkeys resetchannels ~sy:f:* &sy:flows -@all
    ///         +set +get +del +publish +subscribe +scan +info +role
    ///
    /// Sentinels take other commands (SENTINEL, SUBSCRIBE +switch-master): see `RedisSentinel`.
    public static let minimalACL = [
        "resetkeys", "resetchannels", "~\(FlowRecord.keyPattern)", "&\(FlowRecord.channel)", "-@all",
        "+set", "+get", "+del", "+publish", "+subscribe", "+scan", "+info", "+role",
    ]

    public let settings: FlowStoreSettings
    /// Where the primary is: a fixed address, or what the sentinels say.
    public let primary: RedisPrimary
    /// The long-lived connection writes go out on, owned by `run()`.
    let writer: RedisClient
    let options: RedisConnectionOptions
    /// Whether `close()` was called (then no call may start), and the open subscriptions it ends.
    let lifecycle = Mutex<(closed: Bool, open: [ObjectIdentifier: any Channel])>((false, [:]))

    /// The server writes go to: the fixed one, or the primary last connected to.
    public var address: HostPort { writer.address }
    public var description: String {
        switch primary {
        case .fixed(let address): "redis \(address)"
        case .sentinel(let sentinel): "redis-sentinel \(sentinel)"
        }
    }
    public var shared: Bool { true }

    /// Throws when the settings name no server to connect to (kind redis: host and port; kind
    /// redis-sentinel: sentinels and a master name), or their TLS files cannot be used.
    public init(settings: FlowStoreSettings) throws {
        self.settings = settings
        options = try RedisConnectionOptions(settings: settings)
        switch settings.kind {
        case .redisSentinel:
            guard let first = settings.seeds.first else {
                throw RedisSentinelError.incompleteSettings("no sentinels (seeds) to ask for the primary")
            }
            guard let name = settings.masterName, !name.isEmpty else {
                throw RedisSentinelError.incompleteSettings("no masterName to ask the sentinels about")
            }
            let sentinel = RedisSentinel(sentinels: settings.seeds, masterName: name, options: options)
            primary = .sentinel(sentinel)
            writer = RedisClient(placeholder: first, options: options) { try await sentinel.primary() }
        default:
            let address = try HostPort(host: settings.host, port: settings.port)
            primary = .fixed(address)
            writer = RedisClient(address: address, options: options)
        }
    }

    public func run() async throws {
        try await writer.run()
    }

    public func write(_ writes: [FlowStoreWrite]) async throws -> FlowStoreWriteResult {
        guard !writes.isEmpty else { return FlowStoreWriteResult() }
        var commands: [[String]] = []
        var commandCounts: [Int] = []
        commands.reserveCapacity(writes.count * 2)
        commandCounts.reserveCapacity(writes.count)
        for write in writes {
            switch write {
            case .put(let record, let seconds, let announce):
                commands.append(["SET", record.storeKey, record.backend, "EX", "\(seconds)"])
                if announce { commands.append(["PUBLISH", FlowRecord.channel, record.message]) }
                commandCounts.append(announce ? 2 : 1)
            case .delete(let record):
                commands.append(["DEL", record.storeKey])
                commandCounts.append(1)
            }
        }
        let replies = try await writer.send(commands)
        return try FlowStoreWriteResult(writes: writes, commandCounts: commandCounts, replies: replies, node: address)
    }

    /// Every live entry. An error reply that a later attempt may not meet (LOADING, a redirect,
    /// authentication) fails the snapshot; a key that is not a flow entry (another writer's
    /// key of another type: WRONGTYPE) is skipped.
    public func snapshot() async throws -> [FlowRecord] {
        try checkOpen()
        return try await RedisClient.withClient(to: try await primary.resolve(), options: options) { client in
            try await client.flowSnapshot()
        }
    }

    public func follow<T>(_ body: (FlowAnnouncements) async throws -> sending T) async throws -> sending T {
        switch primary {
        case .fixed(let address): return try await follow(at: address) { subscription in try await body(subscription) }
        case .sentinel(let sentinel): return try await follow(sentinel, body)
        }
    }

    /// Subscribes on `address` and calls `body` with the announcements, once the server has
    /// confirmed the subscription and `close()` has not been called; `subscribed` first, with
    /// the subscription's connection.
    func follow<T>(
        at address: HostPort, subscribed: (any Channel) -> Void = { _ in },
        _ body: (FlowAnnouncements) async throws -> sending T
    ) async throws -> sending T {
        try await RedisClient.subscribe(
            to: address, options: options,
            channels: [FlowRecord.channel]
        ) { subscription in
            let id = ObjectIdentifier(subscription.channel)
            let closed = lifecycle.withLock { state in
                if !state.closed { state.open[id] = subscription.channel }
                return state.closed
            }
            guard !closed else { throw RedisClientError.closed(address) }
            defer { _ = lifecycle.withLock { $0.open.removeValue(forKey: id) } }
            subscribed(subscription.channel)
            return try await body(FlowAnnouncements(subscription))
        }
    }

    /// Entries (keys matching the flow pattern, counted by SCAN) and the server's used memory.
    public func usage() async throws -> FlowStoreUsage {
        try checkOpen()
        return try await RedisClient.withClient(to: try await primary.resolve(), options: options) { client in
            try await client.flowUsage()
        }
    }

    func checkOpen() throws(RedisClientError) {
        if lifecycle.withLock({ $0.closed }) { throw .closed(address) }
    }

    /// Ends `run()` (after the writes already queued) and every subscription.
    public func close() {
        let open = lifecycle.withLock { state in
            state.closed = true
            return Array(state.open.values)
        }
        for channel in open { channel.close(promise: nil) }
        writer.close()
    }
}

/// Where a Redis store's primary is.
public enum RedisPrimary: Sendable, Hashable {
    /// One server (kind redis).
    case fixed(HostPort)
    /// The primary the sentinels name (kind redis-sentinel), found again after every failover.
    case sentinel(RedisSentinel)

    /// The address to send to now.
    public func resolve() async throws -> HostPort {
        switch self {
        case .fixed(let address): address
        case .sentinel(let sentinel): try await sentinel.primary()
        }
    }
}
