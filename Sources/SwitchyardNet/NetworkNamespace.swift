import CSwitchyardTCP

#if canImport(Glibc)
    import Glibc
#endif

/// Opening a socket inside another network namespace, for the BGP speaker's TCP sessions and
/// BFD's UDP sockets alike: a socket stays in the namespace it was created in, so only its
/// creation needs the thread moved there (setns is per thread) and moved straight back.
public enum NetworkNamespace {
    /// Entering or leaving the namespace failed, with the kernel's errno: the path names no
    /// namespace, or this process lacks CAP_SYS_ADMIN.
    public struct EnterError: Error, Hashable, Sendable {
        public var errno: Int32
    }

    /// Runs `body` on this thread inside the namespace at `path` (nil: the thread's own) and
    /// returns the thread home. `body` must not suspend or hop threads. When the way home fails,
    /// `abandon` gets the result (to close a descriptor nobody will use) and the call throws.
    public static func run<Result>(
        in path: String?, _ body: () -> Result, abandon: (Result) -> Void = { _ in }
    ) throws(EnterError) -> Result {
        guard let path else { return body() }
        let home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard home >= 0 else { throw EnterError(errno: errno) }
        defer { close(home) }
        let target = open(path, O_RDONLY | O_CLOEXEC)
        guard target >= 0 else { throw EnterError(errno: errno) }
        defer { close(target) }
        let entered = switchyard_setns_net(target)
        guard entered == 0 else { throw EnterError(errno: -entered) }
        let result = body()
        let returned = switchyard_setns_net(home)
        guard returned == 0 else {
            abandon(result)
            throw EnterError(errno: -returned)
        }
        return result
    }
}
