import Glibc

/// A failed BPF or system call: what was attempted, on what, and the errno's meaning.
public struct BPFError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let errno: Int32

    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno < 0 ? -errno : errno
    }

    public var description: String {
        "\(operation): \(String(cString: strerror(errno))) (errno \(errno))"
    }

    /// Wraps a libbpf/syscall return: negative or -1 means failure (libbpf 1.x returns -errno).
    @discardableResult
    static func check(_ result: Int32, _ operation: @autoclosure () -> String) throws -> Int32 {
        guard result >= 0 else { throw BPFError(operation(), errno: result == -1 ? Glibc.errno : result) }
        return result
    }
}
