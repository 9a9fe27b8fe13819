import NIOCore
import NIOPosix

/// A Redis connection: commands are pipelined (a batch goes out in one write, replies are
/// matched in order). One task owns the channel; callers queue requests. On any I/O error the
/// connection fails every waiting request and is finished: the owner reconnects (with backoff).
public final class RedisClient: Sendable {
    public struct RedisError: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    private struct Request: Sendable {
        var commands: [[String]]
        var reply: CheckedContinuation<[RESPValue], Error>
    }

    private let requests: AsyncStream<Request>.Continuation
    public let address: String

    private init(address: String, requests: AsyncStream<Request>.Continuation) {
        self.address = address
        self.requests = requests
    }

    /// Connects and authenticates (AUTH password, or AUTH user password for an ACL user).
    public static func connect(host: String, port: Int, user: String? = nil, password: String? = nil,
                               timeout: Duration = .seconds(2)) async throws -> RedisClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        let (stream, continuation) = AsyncStream<Request>.makeStream()
        let client = RedisClient(address: "\(host):\(port)", requests: continuation)
        Task {
            do {
                try await channel.executeThenClose { inbound, outbound in
                    var replies = inbound.makeAsyncIterator()
                    var pending = ByteBuffer()
                    for await request in stream {
                        do {
                            var out = ByteBuffer()
                            for command in request.commands { RESPCodec.writeCommand(command, into: &out) }
                            try await outbound.write(out)
                            var values: [RESPValue] = []
                            while values.count < request.commands.count {
                                if let value = try RESPCodec.read(from: &pending) {
                                    values.append(value)
                                    continue
                                }
                                guard var chunk = try await replies.next() else { throw RedisError("connection closed by \(host):\(port)") }
                                pending.writeBuffer(&chunk)
                            }
                            request.reply.resume(returning: values)
                        } catch {
                            request.reply.resume(throwing: error)
                            throw error
                        }
                    }
                }
            } catch {}
            continuation.finish()
            for await request in stream { request.reply.resume(throwing: RedisError("connection to \(host):\(port) is closed")) }
        }
        if let password {
            let auth = user.map { ["AUTH", $0, password] } ?? ["AUTH", password]
            let reply = try await client.send([auth])[0]
            if case .error(let e) = reply {
                client.close()
                throw RedisError("AUTH refused by \(host):\(port): \(e)")
            }
        }
        return client
    }

    /// Sends `commands` in one write; the replies, in order (a Redis error is a `.error` value).
    public func send(_ commands: [[String]]) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { reply in
            if case .terminated = requests.yield(Request(commands: commands, reply: reply)) {
                reply.resume(throwing: RedisError("connection to \(address) is closed"))
            }
        }
    }

    public func close() { requests.finish() }

    /// A subscription on its own connection: (channel, message) pairs until the connection ends,
    /// in batches — every message that arrived in one read — so a busy channel costs one wakeup
    /// per read, not per message.
    public static func subscribe(host: String, port: Int, user: String? = nil, password: String? = nil,
                                 channels: [String]) async throws -> AsyncThrowingStream<[(String, String)], Error> {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(2))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        let (stream, continuation) = AsyncThrowingStream<[(String, String)], Error>.makeStream()
        let task = Task {
            do {
                try await channel.executeThenClose { inbound, outbound in
                    var out = ByteBuffer()
                    if let password { RESPCodec.writeCommand(user.map { ["AUTH", $0, password] } ?? ["AUTH", password], into: &out) }
                    RESPCodec.writeCommand(["SUBSCRIBE"] + channels, into: &out)
                    try await outbound.write(out)
                    var pending = ByteBuffer()
                    for try await var chunk in inbound {
                        pending.writeBuffer(&chunk)
                        var batch: [(String, String)] = []
                        while let value = try RESPCodec.read(from: &pending) {
                            if case .error(let e) = value { throw RedisError("subscription refused: \(e)") }
                            guard case .array(let items?) = value, items.count == 3, items[0].string == "message",
                                  let name = items[1].string, let message = items[2].string else { continue }
                            batch.append((name, message))
                        }
                        if !batch.isEmpty { continuation.yield(batch) }
                    }
                }
                continuation.finish(throwing: RedisError("subscription connection closed"))
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
