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

    /// The next non-empty batch of messages (plain or sharded), nil once the connection is
    /// closed. An error reply (e.g. NOPERM when the ACL user loses the channel) ends it with that
    /// error, and so does a server's `sunsubscribe` push (the sharded channel's slot moved).
    func nextBatch() async throws -> [RedisMessage]? {
        while true {
            let values = try await connection.nextBatch()
            if values.isEmpty { return nil }
            var batch: [RedisMessage] = []
            for value in values {
                if let error = value.redisError { throw error }
                guard case .array(let items?) = value, items.count == 3, let channel = items[1].string else { continue }
                switch items[0].string {
                case "message", "smessage":
                    if let message = items[2].string { batch.append(RedisMessage(channel: channel, message: message)) }
                case "sunsubscribe":
                    // A cluster node no longer serves the sharded channel's slot (moved, or the
                    // node was demoted): the subscription must be made again where it went.
                    throw RedisClusterError.subscriptionEnded(
                        connection.address, "\(channel) unsubscribed by the server")
                default: continue
                }
            }
            if !batch.isEmpty { return batch }
        }
    }
}

extension RedisClient {
    /// Subscribes to `channels` on a connection of its own that lives for `body` only: when
    /// `body` runs, the connection is authenticated and the server has confirmed every channel,
    /// so a message published after that point is delivered. Returns what `body` returns; the
    /// connection is closed before this returns. `sharded`: cluster shard channels (SSUBSCRIBE,
    /// one command per channel, as a cluster refuses one naming channels of different slots).
    public static func subscribe<T>(
        to address: HostPort, options: RedisConnectionOptions = RedisConnectionOptions(), channels: [String],
        sharded: Bool = false, isolation: isolated (any Actor)? = #isolation,
        _ body: (RedisSubscription) async throws -> sending T
    ) async throws -> sending T {
        let channel = try await options.connect(to: address)
        return try await channel.executeThenClose { inbound, outbound in
            var connection = RESPConnection(address: address, inbound: inbound, outbound: outbound)
            if let credentials = options.credentials { try await connection.authenticate(credentials) }
            // A confirmation per channel. SUBSCRIBE: one command, and a refusal is one error for
            // them all; SSUBSCRIBE: a command, so a reply, per channel.
            let (command, kind) = sharded ? ("SSUBSCRIBE", "ssubscribe") : ("SUBSCRIBE", "subscribe")
            var replies = try await connection.send(sharded ? channels.map { [command, $0] } : [[command] + channels])
            var confirmed = 0
            while confirmed < max(1, channels.count) {
                if confirmed == replies.count {
                    guard let next = try await connection.next() else { throw RedisClientError.connectionLost(address) }
                    replies.append(next)
                }
                let reply = replies[confirmed]
                if let error = reply.redisError { throw error }
                guard case .array(let items?) = reply, items.first?.string == kind else {
                    throw RedisClientError.unexpectedReply(command: command, reply: "\(reply)")
                }
                confirmed += 1
            }
            return try await body(RedisSubscription(connection: connection, channel: channel.channel))
        }
    }
}
