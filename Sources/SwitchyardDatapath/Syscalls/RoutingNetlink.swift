import CLibbpf
import Glibc

/// A routing netlink socket (NETLINK_ROUTE) subscribed to `groups` (RTMGRP_*), in the calling
/// thread's network namespace: the agent's next-hop watcher and the lab's route timer listen on it.
public enum RoutingNetlink {
    /// The socket's descriptor; the caller closes it.
    public static func open(groups: UInt32) throws -> Int32 {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NETLINK_ROUTE)
        guard fd >= 0 else { throw BPFError("open a routing netlink socket", errno: errno) }
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        address.nl_groups = groups
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
            }
        }
        guard bound == 0 else {
            let error = errno
            close(fd)
            throw BPFError("join routing netlink groups 0x\(String(groups, radix: 16))", errno: error)
        }
        return fd
    }
}
