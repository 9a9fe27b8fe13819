import NIOCore
import SwitchyardCore
import SwitchyardNet
import Synchronization

/// A Redis connection that lives in its caller's task group: `run()` owns the socket, `send`
/// queues a pipelined batch for it from any task. The connection opens on the first request and
/// authenticates; an I/O error fails the request in flight and closes it, and the next request
/// opens a new one (the caller decides when to try again). `close()` or cancelling `run()` ends
/// it; the socket is closed before `run()` returns.
///
///     try await withThrowingDiscardingTaskGroup { group in
///         group.addTask { try await client.run() }
///         let replies = try await client.send([["GET", "k"]])
///         client.close()
///     }
public final class RedisClient: Sendable {
    /// The server: the fixed one, or for a client made with a primary provider the one it last
    /// connected to (until then, the placeholder it was made with).
    public var address: HostPort { current.withLock { $0.address } }
    public let options: RedisConnectionOptions
    /// Asked before every connection: where the server is now (nil: always `address`).
    private let primary: (@Sendable () async throws -> HostPort)?
    /// The server last connected to, and the open connection (closed by `disconnect()`).
    private let current: Mutex<(address: HostPort, channel: (any Channel)?)>

    private struct Request: Sendable {
        var commands: [[String]]
        var reply: CheckedContinuation<[RESPValue], any Error>
    }

    private let requests: AsyncStream<Request>.Continuation
    /// Taken by the one `run()`.
    private let queue: Mutex<AsyncStream<Request>?>

    public init(address: HostPort, options: RedisConnectionOptions = RedisConnectionOptions()) {
        self.options = options
        primary = nil
        current = Mutex((address, nil))
        let (stream, continuation) = AsyncStream<Request>.makeStream()
        requests = continuation
        queue = Mutex(stream)
    }

    /// A client whose server moves (a Sentinel-managed primary): `primary` is asked for the
    /// address before every connection, so after a failover the next connection goes to the new
    /// one. `placeholder` names the client in errors until the first connection.
    public init(
        placeholder: HostPort, options: RedisConnectionOptions = RedisConnectionOptions(),
        primary: @escaping @Sendable () async throws -> HostPort
    ) {
        self.options = options
        self.primary = primary
        current = Mutex((placeholder, nil))
        let (stream, continuation) = AsyncStream<Request>.makeStream()
        requests = continuation
        queue = Mutex(stream)
    }

    /// Closes the open connection, if any: a request in flight fails, the next one connects
    /// anew (to where the primary provider says the server is now).
    public func disconnect() {
        current.withLock { $0.channel }?.close(promise: nil)
    }

    /// Serves requests until `close()` or cancellation. Connection failures do not end it: they
    /// fail the request that met them.
    public func run() async throws(RedisClientError) {
        guard let stream = queue.withLock({ queue in queue.take() }) else {
            throw .alreadyRunning(address)
        }
        var waiting = stream.makeAsyncIterator()
        while let first = await waiting.next() {
            await connect(serving: first, then: &waiting)
        }
    }

    /// One connection: opened for `first`, then serving queued requests until an I/O error, an
    /// authentication failure, or the end of the queue.
    private func connect(serving first: Request, then waiting: inout AsyncStream<Request>.Iterator) async {
        var unanswered: Request? = first
        do {
            let address = try await primary?() ?? self.address
            let channel = try await options.connect(to: address)
            current.withLock { $0 = (address, channel.channel) }
            defer { current.withLock { $0.channel = nil } }
            try await channel.executeThenClose { inbound, outbound in
                var connection = RESPConnection(address: address, inbound: inbound, outbound: outbound)
                if let credentials = options.credentials { try await connection.authenticate(credentials) }
                while let request = unanswered {
                    let replies = try await Self.withReplyTimeout(options.replyTimeout, on: channel.channel, address) {
                        try await connection.send(request.commands)
                    }
                    unanswered = nil
                    request.reply.resume(returning: replies)
                    // Nothing more will succeed here: the next request reconnects, authenticates
                    // and, for a moving primary, finds it again.
                    if replies.contains(where: \.endsConnection) { return }
                    unanswered = await waiting.next()
                }
            }
        } catch {
            unanswered?.reply.resume(throwing: error)
        }
    }

    /// Runs `body` (a request and its replies); past `timeout` the connection is closed, which
    /// ends `body`'s read, and the failure is reported as the timeout.
    static func withReplyTimeout<T>(
        _ timeout: Duration, on channel: any Channel, _ address: HostPort, _ body: () async throws -> T
    ) async throws -> T {
        let expired = Atomic<Bool>(false)
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            expired.store(true, ordering: .relaxed)
            channel.close(promise: nil)
        }
        defer { watchdog.cancel() }
        do {
            return try await body()
        } catch  where expired.load(ordering: .relaxed) {
            throw RedisClientError.replyTimeout(address, timeout)
        }
    }

    /// Sends `commands` in one write; the replies, in order (a Redis error is a `.error` value).
    /// Throws when the connection cannot be opened, fails to authenticate, or is lost.
    public func send(_ commands: [[String]]) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { reply in
            if case .terminated = requests.yield(Request(commands: commands, reply: reply)) {
                reply.resume(throwing: RedisClientError.closed(address))
            }
        }
    }

    /// Ends `run()` once the requests already queued are answered; later sends fail.
    public func close() { requests.finish() }

    /// A client whose connection lives for `body` only (tools, tests, one-off commands).
    public static func withClient<T: Sendable>(
        to address: HostPort, options: RedisConnectionOptions = RedisConnectionOptions(),
        _ body: (RedisClient) async throws -> T
    ) async throws -> T {
        let client = RedisClient(address: address, options: options)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            defer { client.close() }
            return try await body(client)
        }
    }
}

extension RESPValue {
    /// NOAUTH or WRONGPASS: the connection itself is not authenticated.
    var isAuthenticationFailure: Bool {
        redisError?.handling == .authenticate
    }

    /// An authentication failure, or READONLY: the server is a replica now (a failover), and
    /// no write on this connection will succeed.
    var endsConnection: Bool {
        guard let error = redisError else { return false }
        return error.handling == .authenticate || error.kind == .readOnly
    }
}

/// How every connection to a store's servers is opened: credentials, TLS, and how long to wait.
public struct RedisConnectionOptions: Sendable, Hashable {
    public var credentials: RedisCredentials?
    public var connectTimeout: Duration
    /// How long a request waits for its replies before the connection is given up as dead (a
    /// server that stopped answering, or a path that drops everything: no RST ever comes). The
    /// batch fails — its writes are retried — and the next request connects anew.
    public var replyTimeout: Duration
    /// Nil: clear text.
    public var tls: RedisTLS?

    public static let defaultReplyTimeout = Duration.seconds(5)

    public init(
        credentials: RedisCredentials? = nil, connectTimeout: Duration = .seconds(2),
        replyTimeout: Duration = Self.defaultReplyTimeout, tls: RedisTLS? = nil
    ) {
        self.credentials = credentials
        self.connectTimeout = connectTimeout
        self.replyTimeout = replyTimeout
        self.tls = tls
    }
}

/// What a client must present: a password for the default user, or an ACL user and password.
public struct RedisCredentials: Sendable, Hashable {
    public var user: String?
    public var password: String

    public init(user: String? = nil, password: String) {
        self.user = user
        self.password = password
    }

    var authCommand: [String] { user.map { ["AUTH", $0, password] } ?? ["AUTH", password] }
}
