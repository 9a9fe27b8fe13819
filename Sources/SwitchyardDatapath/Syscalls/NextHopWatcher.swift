import CLibbpf
import Glibc
import Synchronization

/// Keeps the datapath's cached next hops (`sy_nexthops`) honest: it listens to the kernel's
/// routing netlink groups for neighbour, route and link changes in its network namespace and,
/// after each batch of notifications, increments `sy_fib_generation`, which invalidates every
/// cached FIB answer at once (the next packet to each backend asks the FIB again). It reads no
/// field of the notifications — that something changed is all it needs — so a burst costs one
/// increment per read, and a lost notification (ENOBUFS) counts as a change too.
public final class NextHopWatcher: @unchecked Sendable {
    private let datapath: LBDatapath
    private let fd: Int32
    private let stopping = Atomic<Bool>(false)
    private let increments = Atomic<Int>(0)
    private var thread: pthread_t?

    private static let groups = UInt32(RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE)

    /// Opens the netlink socket in the calling thread's network namespace (the datapath's) and
    /// makes the current generation new, so no answer cached by an earlier agent is trusted.
    public init(datapath: LBDatapath) throws {
        self.datapath = datapath
        let fd = try RoutingNetlink.open(groups: Self.groups)
        self.fd = fd
        try advance()
    }

    deinit {
        stop()
        close(fd)
    }

    /// Generations started by this watcher (its own first one included).
    public var changesSeen: Int { increments.load(ordering: .relaxed) }

    /// The generation the datapath checks cached answers against.
    public var generation: UInt32 {
        get throws { try datapath.fibGeneration.lookup(UInt32(0), as: UInt32.self) ?? 0 }
    }

    /// Starts the listening thread (it wakes every 200 ms to notice `stop`).
    public func start() {
        let box = Unmanaged.passRetained(self)
        var handle = pthread_t()
        let created = pthread_create(
            &handle, nil,
            { raw in
                let watcher = Unmanaged<NextHopWatcher>.fromOpaque(raw!).takeRetainedValue()
                watcher.listen()
                return nil
            }, box.toOpaque())
        if created == 0 { thread = handle } else { box.release() }
    }

    /// Stops the thread and waits for it.
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing), let thread else { return }
        pthread_join(thread, nil)
    }

    private func listen() {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while !stopping.load(ordering: .acquiring) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 200) > 0 else { continue }
            var changed = false
            // Drain what is queued, then advance once for the whole batch.
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if n > 0 {
                    changed = true
                } else if n < 0 && errno == ENOBUFS {
                    changed = true // notifications were dropped: assume they were changes
                } else {
                    break
                }
            }
            if changed { try? advance() }
        }
    }

    /// The next generation (never 0, which no cached answer may carry).
    private func advance() throws {
        let current = try generation
        let next = current &+ 1 == 0 ? 1 : current &+ 1
        try datapath.fibGeneration.update(UInt32(0), next)
        increments.add(1, ordering: .relaxed)
    }
}
