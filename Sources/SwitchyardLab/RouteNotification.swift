import SwitchyardCore

/// One route change the kernel announced on the routing netlink groups (rtnetlink(7)): which
/// prefix, and whether it was added/replaced or deleted. The lab's route timing reads only the
/// destination — what the route now holds is asked of the kernel separately — so a notification
/// the parser cannot read is skipped, never an error.
struct RouteNotification: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case added, deleted
    }

    var kind: Kind
    var destination: IPAddress
    var prefixLength: Int

    /// rtnetlink message types (linux/rtnetlink.h).
    static let newRoute: UInt16 = 24, deleteRoute: UInt16 = 25
    /// `struct nlmsghdr` and `struct rtmsg` sizes; `RTA_DST` (linux/rtnetlink.h).
    static let headerSize = 16, routeMessageSize = 12, destinationAttribute: UInt16 = 1

    /// Every route notification in one datagram read from the socket (several may be batched).
    /// Host byte order (little-endian on every platform the lab runs on), as netlink is.
    static func parse(_ datagram: [UInt8]) -> [RouteNotification] {
        let bytes = datagram[...]
        var found: [RouteNotification] = []
        var offset = 0
        while offset + headerSize <= bytes.count {
            let length = Int(read32(bytes, offset))
            let type = read16(bytes, offset + 4)
            guard length >= headerSize, offset + length <= bytes.count else { break }
            if type == newRoute || type == deleteRoute,
                let route = parseRoute(bytes[(offset + headerSize)..<(offset + length)], deleted: type == deleteRoute)
            {
                found.append(route)
            }
            offset += align(length)
        }
        return found
    }

    /// `struct rtmsg` then its attributes; only `RTA_DST` is read.
    private static func parseRoute(_ payload: ArraySlice<UInt8>, deleted: Bool) -> RouteNotification? {
        guard payload.count >= routeMessageSize else { return nil }
        let start = payload.startIndex
        let family = payload[start]
        let prefixLength = Int(payload[start + 1])
        var offset = start + routeMessageSize
        while offset + 4 <= payload.endIndex {
            let length = Int(read16(payload, offset))
            let type = read16(payload, offset + 2)
            guard length >= 4, offset + length <= payload.endIndex else { return nil }
            if type & 0x3fff == destinationAttribute {
                let value = Array(payload[(offset + 4)..<(offset + length)])
                let address: IPAddress? =
                    switch (family, value.count) {
                    case (2, 4): .v4(IPv4Address(value[0], value[1], value[2], value[3])) // AF_INET
                    case (10, 16): .v6(IPv6Address(bytes: value)) // AF_INET6
                    default: nil
                    }
                return address.map {
                    RouteNotification(kind: deleted ? .deleted : .added, destination: $0, prefixLength: prefixLength)
                }
            }
            offset += align(length)
        }
        return nil // a default route carries no RTA_DST: not one the lab watches
    }

    private static func align(_ length: Int) -> Int { (length + 3) & ~3 }

    /// Little-endian reads at absolute indices of `bytes` (callers have checked the bounds).
    private static func read16(_ bytes: ArraySlice<UInt8>, _ i: Int) -> UInt16 {
        UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8
    }

    private static func read32(_ bytes: ArraySlice<UInt8>, _ i: Int) -> UInt32 {
        UInt32(read16(bytes, i)) | UInt32(read16(bytes, i + 2)) << 16
    }
}
