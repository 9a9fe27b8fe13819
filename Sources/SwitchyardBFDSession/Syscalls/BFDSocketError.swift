#if canImport(Glibc)
    import Glibc
#endif

/// A failed step of opening a session's sockets, with the errno the kernel gave.
public struct BFDSocketError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Step: String, Hashable, Sendable {
        /// Opening or entering the configured network namespace.
        case enterNamespace
        /// Creating or binding the socket that receives on UDP 3784: the local address is not on
        /// this host (or namespace), or another BFD daemon holds the port there.
        case receiveSocket
        /// Creating or binding the sending socket: no free source port in 49152–65535.
        case sendSocket
        /// The local and peer addresses are of different families.
        case addressFamilyMismatch
        /// A session from this local address to this peer already runs: stop it first.
        case sessionExists
    }

    public var step: Step
    public var errno: Int32

    public init(_ step: Step, errno: Int32) {
        self.step = step
        self.errno = errno
    }

    public var description: String {
        let message = strerror(errno).map { String(cString: $0) } ?? "errno \(errno)"
        return "\(step.rawValue): \(message) (errno \(errno))"
    }
}
