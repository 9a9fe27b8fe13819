import Glibc
import SwitchyardCore

/// The addresses on the interfaces of the calling thread's network namespace (getifaddrs asks
/// the kernel over a netlink socket it opens on this thread, so setns applies).
public enum InterfaceAddresses {
    /// Every (interface, address) pair, IPv4 and IPv6.
    public static func current() throws -> [(interface: String, address: IPAddress)] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { throw BPFError("getifaddrs", errno: errno) }
        defer { freeifaddrs(list) }
        var result: [(String, IPAddress)] = []
        var entry = list
        while let e = entry {
            defer { entry = e.pointee.ifa_next }
            guard let sa = e.pointee.ifa_addr, let name = e.pointee.ifa_name else { continue }
            switch Int32(sa.pointee.sa_family) {
            case AF_INET:
                let raw = UnsafeRawPointer(sa).load(as: sockaddr_in.self).sin_addr.s_addr
                result.append((String(cString: name), .v4(IPv4Address(UInt32(bigEndian: raw)))))
            case AF_INET6:
                let raw = UnsafeRawPointer(sa).load(as: sockaddr_in6.self).sin6_addr
                let bytes = withUnsafeBytes(of: raw) { Array($0) }
                result.append((String(cString: name), .v6(IPv6Address(bytes: bytes))))
            default:
                continue
            }
        }
        return result
    }

    /// The interface holding `address`, or nil.
    public static func interface(holding address: IPAddress) throws -> String? {
        try current().first { $0.address == address }?.interface
    }
}
