#if canImport(Glibc)
    import Glibc
#endif

/// A failed step of opening the TCP connection to a peer, with the errno the kernel gave.
public struct BGPSocketError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Step: String, Hashable, Sendable {
        /// Opening or entering the configured network namespace.
        case enterNamespace
        case socket
        /// Setting the RFC 2385 key: the kernel lacks TCP-MD5 or the password is too long.
        case md5Signature
        /// Binding the configured source address or port: not on this host, or in use.
        case bind
        case connect
        /// No answer within the connect timeout (a wrong MD5 key also looks like this: the peer
        /// drops unsigned or badly signed segments silently).
        case connectTimeout
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
