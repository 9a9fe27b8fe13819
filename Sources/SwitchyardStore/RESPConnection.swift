import NIOCore
import SwitchyardCore

/// RESP over one open connection, inside its owner's `executeThenClose`: commands go out
/// pipelined in one write, replies come back decoded in order. Bytes of a reply not yet complete
/// wait in `pending`; nothing is read ahead beyond what the server sent.
struct RESPConnection {
    let address: HostPort
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var pending = ByteBuffer()

    init(
        address: HostPort, inbound: NIOAsyncChannelInboundStream<ByteBuffer>,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) {
        self.address = address
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
    }

    /// Writes `commands` in one write and reads their replies (a Redis error is a `.error`).
    mutating func send(_ commands: [[String]]) async throws -> [RESPValue] {
        var out = ByteBuffer()
        for command in commands { RESPCodec.writeCommand(command, into: &out) }
        do { try await outbound.write(out) } catch {
            // A closed connection: why it closed (a TLS alert, named by RedisTLSErrorNamer) is
            // waiting in the inbound stream, and says more than "I/O on closed channel".
            _ = try await inbound.next()
            throw error
        }
        var replies: [RESPValue] = []
        replies.reserveCapacity(commands.count)
        while replies.count < commands.count {
            guard let value = try await next() else { throw RedisClientError.connectionLost(address) }
            replies.append(value)
        }
        return replies
    }

    /// The next value, or nil when the server closed the connection.
    mutating func next() async throws -> RESPValue? {
        while true {
            if let value = try RESPCodec.read(from: &pending) { return value }
            guard var chunk = try await inbound.next() else { return nil }
            pending.writeBuffer(&chunk)
        }
    }

    /// Every value that has arrived by the next read, at least one; empty when the server
    /// closed the connection. A busy subscription costs one wakeup per read, not per message.
    mutating func nextBatch() async throws -> [RESPValue] {
        guard let first = try await next() else { return [] }
        var batch = [first]
        while let value = try RESPCodec.read(from: &pending) { batch.append(value) }
        return batch
    }

    /// Authenticates: AUTH password (the default user) or AUTH user password (an ACL user).
    mutating func authenticate(_ credentials: RedisCredentials) async throws {
        let reply = try await send([credentials.authCommand])[0]
        if case .error(let message) = reply { throw RedisError(reply: message) }
    }
}
