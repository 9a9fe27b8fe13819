import CSwitchyardTCP
import SwitchyardCore
import SwitchyardNet

#if canImport(Glibc)
    import Glibc
#endif

/// The one place the speaker touches sockets directly: opening the connection to a peer the way
/// NIO cannot — inside a network namespace, signed with TCP-MD5 before the SYN, from a chosen
/// source — and handing the connected descriptor to NIO. Blocking: run it on a thread pool.
enum BGPSocket {
    /// A connected, non-blocking TCP socket to `peer`, or the step that failed. The caller owns
    /// the descriptor.
    static func connect(_ transport: BGPPeerTransport) throws(BGPSocketError) -> CInt {
        let fd = try openSocket(family: transport.peerAddress.family, namespacePath: transport.networkNamespacePath)
        do throws(BGPSocketError) {
            let peer = SocketAddress(transport.peerAddress, port: transport.peerPort)
            if let password = transport.md5Password {
                let key = Array(password.utf8)
                let result = peer.withSockaddr { address, length in
                    switchyard_tcp_set_md5(fd, address, length, key, Int32(key.count))
                }
                guard result == 0 else { throw BGPSocketError(.md5Signature, errno: -result) }
            }
            if transport.sourceAddress != nil || transport.sourcePort != 0 {
                var one: CInt = 1
                _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size))
                let source = SocketAddress(
                    transport.sourceAddress
                        ?? (transport.peerAddress.family == .v4 ? .v4(.init(0)) : .v6(.init(high: 0, low: 0))),
                    port: transport.sourcePort)
                let result = source.withSockaddr { address, length in Glibc.bind(fd, address, length) }
                guard result == 0 else { throw BGPSocketError(.bind, errno: Glibc.errno) }
            }
            try connect(fd, to: peer, timeout: transport.connectTimeout)
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// Closes a descriptor nobody will adopt (a connect that finished after it was abandoned).
    static func discard(_ fd: CInt) {
        if fd >= 0 { close(fd) }
    }

    /// A TCP socket of `family`, created inside the namespace when one is named.
    private static func openSocket(family: IPAddress.Family, namespacePath: String?) throws(BGPSocketError) -> CInt {
        let domain = family == .v4 ? AF_INET : AF_INET6
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let opened: (fd: CInt, errno: Int32)
        do throws(NetworkNamespace.EnterError) {
            opened = try NetworkNamespace.run(in: namespacePath) {
                let fd = socket(domain, type, 0)
                return (fd, errno)
            } abandon: {
                if $0.fd >= 0 { close($0.fd) }
            }
        } catch {
            throw BGPSocketError(.enterNamespace, errno: error.errno)
        }
        guard opened.fd >= 0 else { throw BGPSocketError(.socket, errno: opened.errno) }
        return opened.fd
    }

    /// A non-blocking connect bounded by `timeout`; the socket stays non-blocking for NIO.
    private static func connect(_ fd: CInt, to peer: SocketAddress, timeout: Duration) throws(BGPSocketError) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw BGPSocketError(.socket, errno: errno)
        }
        let result = peer.withSockaddr { address, length in Glibc.connect(fd, address, length) }
        if result == 0 { return }
        guard errno == EINPROGRESS else { throw BGPSocketError(.connect, errno: errno) }
        var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let milliseconds = Int32(
            clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let ready = poll(&pollfd, 1, milliseconds)
        guard ready >= 0 else { throw BGPSocketError(.connect, errno: errno) }
        guard ready > 0 else { throw BGPSocketError(.connectTimeout, errno: ETIMEDOUT) }
        var socketError: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length) == 0 else {
            throw BGPSocketError(.connect, errno: errno)
        }
        guard socketError == 0 else { throw BGPSocketError(.connect, errno: socketError) }
    }
}

/// An IPv4 or IPv6 socket address built from our address types, for bind, connect and TCP-MD5.
struct SocketAddress {
    private var storage = sockaddr_storage()
    private var length: socklen_t

    init(_ address: IPAddress, port: UInt16) {
        switch address {
        case .v4(let v4):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr = in_addr(s_addr: v4.value.bigEndian)
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: sin) { raw.copyMemory(from: $0) }
            }
        case .v6(let v6):
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { raw in
                for (index, byte) in v6.bytes.enumerated() where index < raw.count { raw[index] = byte }
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: sin6) { raw.copyMemory(from: $0) }
            }
        }
    }

    func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }
}
