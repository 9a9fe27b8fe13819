import CSwitchyardUDP
import SwitchyardBFD
import SwitchyardCore
import SwitchyardNet

#if canImport(Glibc)
    import Glibc
#endif

/// The one place BFD touches sockets: UDP sockets bound to a local address, TTL 255 on the way
/// out, the TTL of every datagram on the way in (RFC 5881 §5), created inside a network namespace
/// when asked. Descriptors are owned by the caller.
enum BFDSocket {
    /// One received datagram.
    struct Datagram {
        var payload: [UInt8]
        var source: IPAddress?
        /// The TTL / hop limit it arrived with; nil when the kernel did not say.
        var ttl: UInt8?
    }

    /// The socket that receives every session's packets on `local` (UDP 3784).
    static func openReceiver(local: IPAddress, namespacePath: String?) throws(BFDSocketError) -> CInt {
        try open(local: local, port: BFDWire.controlPort, reuse: true, namespacePath: namespacePath)
            .get(orThrow: .receiveSocket)
    }

    /// A session's sending socket: bound to `local` with a source port from 49152–65535 (RFC 5881
    /// §4), the same for the session's life; `random` picks the first port tried.
    static func openSender(local: IPAddress, namespacePath: String?, random: UInt16) throws(BFDSocketError) -> CInt {
        let range = BFDWire.sourcePortRange
        let span = Int(range.upperBound - range.lowerBound) + 1
        var lastErrno = EADDRINUSE
        for attempt in 0..<64 {
            let port = range.lowerBound + UInt16((Int(random) + attempt * 7919) % span)
            let result = try open(local: local, port: port, reuse: false, namespacePath: namespacePath)
            switch result {
            case .opened(let fd): return fd
            case .failed(let code) where code == EADDRINUSE: lastErrno = code
            case .failed(let code): throw BFDSocketError(.sendSocket, errno: code)
            }
        }
        throw BFDSocketError(.sendSocket, errno: lastErrno)
    }

    enum OpenResult {
        case opened(CInt)
        case failed(Int32)

        func get(orThrow step: BFDSocketError.Step) throws(BFDSocketError) -> CInt {
            switch self {
            case .opened(let fd): return fd
            case .failed(let code): throw BFDSocketError(step, errno: code)
            }
        }
    }

    private static func open(local: IPAddress, port: UInt16, reuse: Bool, namespacePath: String?)
        throws(BFDSocketError) -> OpenResult
    {
        let family = local.family == .v4 ? AF_INET : AF_INET6
        let bytes = local.bytes
        let fd: CInt
        do throws(NetworkNamespace.EnterError) {
            fd = try NetworkNamespace.run(in: namespacePath) {
                switchyard_udp_open(family, bytes, port, Int32(BFDWire.requiredTTL), reuse ? 1 : 0)
            } abandon: {
                if $0 >= 0 { close($0) }
            }
        } catch {
            throw BFDSocketError(.enterNamespace, errno: error.errno)
        }
        return fd >= 0 ? .opened(fd) : .failed(-fd)
    }

    /// Sends without blocking; the errno on failure.
    static func send(_ fd: CInt, _ payload: [UInt8], to peer: IPAddress) -> Int32? {
        let family = peer.family == .v4 ? AF_INET : AF_INET6
        let result = switchyard_udp_send(fd, family, peer.bytes, BFDWire.controlPort, payload, payload.count)
        return result == 0 ? nil : -result
    }

    /// Waits up to `timeoutMilliseconds` for a datagram: nil when none came, or on a transient error.
    static func receive(_ fd: CInt, timeoutMilliseconds: Int32) -> Datagram? {
        var buffer = [UInt8](repeating: 0, count: 512)
        var family: CInt = 0
        var address = [UInt8](repeating: 0, count: 16)
        var port: UInt16 = 0
        var ttl: CInt = -1
        let count = switchyard_udp_receive(
            fd, timeoutMilliseconds, &buffer, buffer.count, &family, &address, &port, &ttl)
        guard count >= 0 else {
            // EAGAIN: nothing in time; anything else (EINTR, a queued ICMP error) is transient too.
            return nil
        }
        let source: IPAddress? =
            switch family {
            case AF_INET: .v4(IPv4Address(address[0], address[1], address[2], address[3]))
            case AF_INET6: .v6(IPv6Address(bytes: address))
            default: nil
            }
        return Datagram(
            payload: Array(buffer.prefix(count)), source: source,
            ttl: (0...255).contains(ttl) ? UInt8(ttl) : nil)
    }

    static func discard(_ fd: CInt) {
        if fd >= 0 { close(fd) }
    }
}
