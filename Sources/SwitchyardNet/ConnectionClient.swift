import NIOCore
import NIOPosix
import SwitchyardCore

/// The one way out for a TCP client in the tree (the store, health probes, the lab's traffic):
/// a connected channel the caller owns. Run it with `executeThenClose` inside the caller's task,
/// so the connection closes when that scope ends and never outlives its owner.
public enum ConnectionClient {
    public typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    /// Connects within `timeout`, with Nagle off: requests and replies are small and waited for.
    public static func connect(host: String, port: Int, timeout: Duration) async throws -> Connection {
        try await connect(host: host, port: port, timeout: timeout) { _ in }
    }

    public static func connect(to address: HostPort, timeout: Duration) async throws -> Connection {
        try await connect(host: address.host.description, port: Int(address.port), timeout: timeout)
    }

    /// Connects as above, and lets `configure` add handlers (TLS) on the channel's event loop
    /// before the channel is wrapped: they see every byte, the caller sees only plain text.
    public static func connect(
        to address: HostPort, timeout: Duration,
        configure: @escaping @Sendable (any Channel) throws -> Void
    ) async throws -> Connection {
        try await connect(
            host: address.host.description, port: Int(address.port), timeout: timeout, configure: configure)
    }

    private static func connect(
        host: String, port: Int, timeout: Duration, configure: @escaping @Sendable (any Channel) throws -> Void
    ) async throws -> Connection {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount(timeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try configure(channel)
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// TCP keepalive on `channel`: a peer that vanished without a FIN or RST (a partition, a
    /// powered-off host) is noticed after `idle` + `count` × `interval` of silence, instead of
    /// the kernel's two hours — for long-lived connections that otherwise only read
    /// (subscriptions). Call on the channel's event loop (a `configure` closure).
    public static func keepAlive(
        _ channel: any Channel, idle: Int = 5, interval: Int = 2, count: Int = 3
    ) throws {
        guard let options = channel.syncOptions else { return }
        try options.setOption(.socketOption(.so_keepalive), value: 1)
        let tcp = SocketOptionLevel(IPPROTO_TCP)
        try options.setOption(ChannelOptions.Types.SocketOption(level: tcp, name: TCP_KEEPIDLE), value: idle)
        try options.setOption(ChannelOptions.Types.SocketOption(level: tcp, name: TCP_KEEPINTVL), value: interval)
        try options.setOption(ChannelOptions.Types.SocketOption(level: tcp, name: TCP_KEEPCNT), value: count)
    }
}
