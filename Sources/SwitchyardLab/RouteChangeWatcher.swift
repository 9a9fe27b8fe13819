import CLibbpf
import Foundation
import Glibc
import SwitchyardCore
import SwitchyardDatapath

/// The router's kernel route changes as they happen: a routing netlink socket opened inside the
/// router's namespace, read by a thread of its own that stamps each notification the moment it
/// arrives. Timing a route change by these stamps measures the router (its daemon deciding and
/// the kernel installing), not how often and how slowly the lab asks `ip route` — a poller that
/// spawns `ip` per look adds its own spawn time and poll period to every figure, and competes
/// for the CPU the router and the agents need.
final class RouteChangeWatcher: @unchecked Sendable {
    struct Change: Sendable {
        var at: Date
        var notification: RouteNotification
    }

    private let fd: Int32
    private let condition = NSCondition()
    private var changes: [Change] = []
    private var stopping = false
    private var thread: Thread?

    /// `RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE` (linux/rtnetlink.h).
    private static let groups: UInt32 = 0x40 | 0x400

    /// Opens the socket in namespace `namespace` (the socket stays bound to it) and starts reading.
    init(namespace: String) throws {
        fd = try NetworkNamespace(existingName: namespace).inside { () throws -> Int32 in
            do {
                return try RoutingNetlink.open(groups: Self.groups)
            } catch {
                throw NetworkNamespace.CommandError(
                    description: "cannot listen to route changes in \(namespace): \(error)")
            }
        }
        let thread = Thread { [self] in listen() }
        thread.name = "route-watcher"
        self.thread = thread
        thread.start()
    }

    deinit { close(fd) }

    /// Ends the reading thread (within 100 ms). Call before dropping the watcher.
    func stop() {
        condition.lock()
        stopping = true
        condition.unlock()
        while thread?.isFinished == false { usleep(10_000) }
    }

    private func listen() {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            condition.lock()
            let done = stopping
            condition.unlock()
            if done { return }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let now = Date()
            var arrived: [Change] = []
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                guard n > 0 || (n < 0 && errno == ENOBUFS) else { break }
                if n > 0 {
                    arrived += RouteNotification.parse(Array(buffer[0..<n])).map { Change(at: now, notification: $0) }
                }
            }
            guard !arrived.isEmpty else { continue }
            condition.lock()
            changes += arrived
            condition.broadcast()
            condition.unlock()
        }
    }

    /// How many notifications have arrived so far.
    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return changes.count
    }

    /// Until more than `seen` notifications have arrived, or `deadline`.
    func waitForMore(than seen: Int, until deadline: Date) {
        condition.lock()
        defer { condition.unlock() }
        while changes.count <= seen, !stopping, condition.wait(until: deadline) {}
    }

    /// The arrival time of the latest change to a route for one of `destinations` (host routes),
    /// among the first `upTo` notifications, no earlier than `since`.
    func latestChange(to destinations: Set<IPAddress>, since: Date, upTo: Int) -> Date? {
        condition.lock()
        defer { condition.unlock() }
        return changes.prefix(upTo).last {
            $0.at >= since && destinations.contains($0.notification.destination)
                && $0.notification.prefixLength == $0.notification.destination.bytes.count * 8
        }?.at
    }
}
