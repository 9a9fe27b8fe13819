import NIOCore
import SwitchyardCore
import SwitchyardNet

/// One message a subscription received.
public struct RedisMessage: Sendable, Hashable {
    public var channel: String
    public var message: String
}

/// The messages of a subscription, in batches (every message that arrived in one read), until
/// the server closes the connection. Iterate it once, inside the `subscribe` body that made it.
public final class RedisSubscription: AsyncSequence {
    public typealias Element = [RedisMessage]
    private var connection: RESPConnection
    /// The socket, so the owner can end the subscription from elsewhere (`close()`).
    let channel: any Channel

    init(connection: RESPConnection, channel: any Channel) {
        self.connection = connection
        self.channel = channel
    }

    /// Ends the subscription: the iteration finishes.
    public func close() { channel.close(promise: nil) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let subscription: RedisSubscription

        public mutating func next() async throws -> [RedisMessage]? {
            try await subscription.nextBatch()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(subscription: self) }

    /// The next non-empty batch of messages, nil once the connection is closed. An error reply
    /// (e.g. NOPERM when the ACL user loses the channel) ends it with that error.
    func nextBatch() async throws -> [RedisMessage]? {
        while true {
            let values = try await connection.nextBatch()
            if values.isEmpty { return nil }
            var batch: [RedisMessage] = []
            for value in values {
                if let error = value.redisError { throw error }
                guard case .array(let items?) = value, items.count == 3, items[0].string == "message",
                    let channel = items[1].string, let message = items[2].string
                else { continue }
                batch.append(RedisMessage(channel: channel, message: message))
            }
            if !batch.isEmpty { return batch }
        }
    }
}

extension RedisClient {
    /// Subscribes to `channels` on a connection of its own that lives for `body` only: when
    /// `body` runs, the connection is authenticated and the server has confirmed every channel,
    /// so a message published after that point is delivered. Returns what `body` returns; the
    /// connection is closed before this returns.
    public static func subscribe<T>(
        to address: HostPort, options: RedisConnectionOptions = RedisConnectionOptions(), channels: [String],
        isolation: isolated (any Actor)? = #isolation,
        _ body: (RedisSubscription) async throws -> sending T
    ) async throws -> sending T {
        let channel = try await options.connect(to: address)
        return try await channel.executeThenClose { inbound, outbound in
            var connection = RESPConnection(address: address, inbound: inbound, outbound: outbound)
            if let credentials = options.credentials { try await connection.authenticate(credentials) }
            // One command, a confirmation per channel; a refusal is one error for them all.
            var reply = try await connection.send([["SUBSCRIBE"] + channels])[0]
            for confirmed in 1...max(1, channels.count) {
                if let error = reply.redisError { throw error }
                guard case .array(let items?) = reply, items.first?.string == "subscribe" else {
                    throw RedisClientError.unexpectedReply(command: "SUBSCRIBE", reply: "\(reply)")
                }
                if confirmed == channels.count { break }
                guard let next = try await connection.next() else { throw RedisClientError.connectionLost(address) }
                reply = next
            }
            return try await body(RedisSubscription(connection: connection, channel: channel.channel))
        }
    }
}
