import NIOCore
import SwitchyardCore

/// NLRI prefixes (RFC 4271 §4.3, RFC 4760 §5): a length in bits, then just enough octets.
enum BGPPrefixCodec {
    /// Octets one prefix takes on the wire.
    static func encodedLength(_ prefix: IPPrefix) -> Int { 1 + (prefix.length + 7) / 8 }

    static func write(_ prefix: IPPrefix, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(truncatingIfNeeded: prefix.length))
        buffer.writeBytes(prefix.address.bytes.prefix((prefix.length + 7) / 8))
    }

    /// Reads prefixes until `field` is empty; nil when a length exceeds the family's width or the
    /// octets run past the field (RFC 7606 §3 j, §5.3: the caller resets the session). Trailing
    /// bits past the length are ignored (RFC 4271 §4.3), so they are masked off here.
    static func readAll(from field: inout ByteBuffer, addressBytes: Int) -> [IPPrefix]? {
        var prefixes: [IPPrefix] = []
        while field.readableBytes > 0 {
            guard let length = field.readInteger(as: UInt8.self), Int(length) <= addressBytes * 8,
                let significant = field.readBytes(length: (Int(length) + 7) / 8)
            else { return nil }
            var bytes = significant + [UInt8](repeating: 0, count: addressBytes - significant.count)
            if length % 8 != 0, let last = significant.indices.last {
                bytes[last] &= ~UInt8(0xff >> (length % 8))
            }
            guard let prefix = IPPrefix(address: address(bytes), length: Int(length)) else { return nil }
            prefixes.append(prefix)
        }
        return prefixes
    }

    /// 4 octets are IPv4, anything else is taken as 16 (the callers only pass 4 or 16).
    static func address(_ bytes: [UInt8]) -> IPAddress {
        if bytes.count == 4 {
            return .v4(IPv4Address(bytes[0], bytes[1], bytes[2], bytes[3]))
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.prefix(16).enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        return .v6(IPv6Address(high: high, low: low))
    }
}
