import NIOCore
import NIOPosix

/// A listening socket that hands each accepted connection to `handler` in its own child task:
/// the one accept loop the agent's admin and metrics servers and the lab's server share. Every
/// connection is closed when its handler returns, whatever the handler did.
public enum ConnectionServer {
    public typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    public enum Address: Sendable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    /// Binds, calls `ready` once listening, then serves until cancelled. A handler's error ends
    /// only its own connection.
    public static func run(
        _ address: Address, ready: @Sendable () -> Void = {},
        handler: @escaping @Sendable (Connection) async throws -> Void
    ) async throws {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
        let wrap: @Sendable (Channel) -> EventLoopFuture<Connection> = { channel in
            channel.eventLoop.makeCompletedFuture { try Connection(wrappingChannelSynchronously: channel) }
        }
        let server =
            switch address {
            case .tcp(let host, let port):
                try await bootstrap.bind(host: host, port: port, childChannelInitializer: wrap)
            case .unix(let path):
                try await bootstrap.bind(
                    unixDomainSocketPath: path, cleanupExistingSocketFile: true, childChannelInitializer: wrap)
            }
        ready()
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask {
                        try? await handler(connection)
                        // A handler that ended before its `executeThenClose` must not leave the
                        // socket open (closing a closed channel is a no-op here).
                        try? await connection.channel.close()
                    }
                }
            }
        }
    }
}

extension ConnectionServer {
    /// Reads until `terminator` has arrived, the peer stops sending, or `limit` bytes: a request
    /// line or header block, never an unbounded buffer.
    public static func readRequest(
        _ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, until terminator: String,
        limit: Int
    ) async throws -> String {
        var request = ""
        for try await chunk in inbound {
            request += String(buffer: chunk)
            if request.contains(terminator) || request.utf8.count > limit { break }
        }
        return request
    }
}
