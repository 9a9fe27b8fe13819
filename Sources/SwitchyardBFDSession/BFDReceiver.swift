import NIOConcurrencyHelpers
import NIOPosix
import SwitchyardCore

/// The socket on one local address's UDP 3784 and the thread that reads it. NIO's datagram
/// channels do not report a datagram's TTL, which RFC 5881 §5 needs, so this reads with recvmsg
/// (`BFDSocket.receive`) on a thread of its own and hands each datagram to `dispatch`, which only
/// decodes, looks up the session and hops to its event loop.
final class BFDReceiver: Sendable {
    /// Which sockets are one: the same address in the same namespace.
    struct Key: Hashable, Sendable {
        var namespacePath: String?
        var localAddress: IPAddress
    }

    let key: Key
    private let fd: CInt
    private let running = NIOLockedValueBox(true)
    private let thread = NIOThreadPool(numberOfThreads: 1)

    /// How long one wait for a datagram lasts, i.e. how late `stop` may be noticed.
    private static let pollMilliseconds: Int32 = 100

    init(key: Key) throws(BFDSocketError) {
        self.key = key
        fd = try BFDSocket.openReceiver(local: key.localAddress, namespacePath: key.namespacePath)
    }

    /// Starts reading; every datagram goes to `dispatch` on the receiver's thread.
    func start(_ dispatch: @escaping @Sendable (BFDSocket.Datagram) -> Void) {
        thread.start()
        let fd = fd
        let running = running
        thread.submit { _ in
            while running.withLockedValue({ $0 }) {
                if let datagram = BFDSocket.receive(fd, timeoutMilliseconds: Self.pollMilliseconds) {
                    dispatch(datagram)
                }
            }
        }
    }

    /// Ends the read loop, waits for its thread and closes the socket.
    func stop() async {
        running.withLockedValue { $0 = false }
        try? await thread.shutdownGracefully()
        BFDSocket.discard(fd)
    }
}
