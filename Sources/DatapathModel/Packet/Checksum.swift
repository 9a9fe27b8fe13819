import SwitchyardCore

/// The Internet checksum (RFC 1071): one's-complement sum of 16-bit words, folded.
public struct InternetChecksum {
    private var sum: UInt64 = 0

    public init() {}

    /// Adds `bytes[range]` as big-endian words; an odd final byte is padded with zero.
    public mutating func add(_ bytes: [UInt8], _ range: Range<Int>) {
        var index = range.lowerBound
        while index + 1 < range.upperBound {
            sum &+= UInt64(bytes[index]) << 8 | UInt64(bytes[index + 1])
            index += 2
        }
        if index < range.upperBound { sum &+= UInt64(bytes[index]) << 8 }
    }

    public mutating func add(_ word: UInt16) { sum &+= UInt64(word) }

    public mutating func add(_ address: IPAddress) {
        let bytes = address.bytes
        add(bytes, 0..<bytes.count)
    }

    /// The folded, complemented checksum to store in a header.
    public var value: UInt16 {
        var folded = sum
        while folded >> 16 != 0 { folded = (folded & 0xffff) + (folded >> 16) }
        return ~UInt16(folded)
    }

    /// A stored checksum after one 16-bit word it covers changed from `old` to `new`, without
    /// re-reading the data (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')). A result of 0 is written
    /// as 0xffff, the other zero of one's complement: eqn. 3 yields 0 for a message whose words
    /// are all zero (an echo reply with no identifier, sequence or data), where only 0xffff
    /// verifies; 0xffff verifies whenever 0 would.
    public static func updated(_ checksum: UInt16, old: UInt16, new: UInt16) -> UInt16 {
        var sum = UInt32(~checksum) + UInt32(~old) + UInt32(new)
        sum = (sum & 0xffff) + (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16)
        let result = ~UInt16(sum)
        return result == 0 ? 0xffff : result
    }

    /// Checksum of an IPv4 header (RFC 791), checksum field included as found.
    public static func ipv4Header(_ bytes: [UInt8], at offset: Int, length: Int) -> UInt16 {
        var c = InternetChecksum()
        c.add(bytes, offset..<offset + length)
        return c.value
    }

    /// Checksum of a transport segment with its pseudo-header (RFC 793 §3.1; RFC 8200 §8.1).
    public static func transport(
        _ bytes: [UInt8], at offset: Int, length: Int, proto: UInt8,
        source: IPAddress, destination: IPAddress
    ) -> UInt16 {
        var c = InternetChecksum()
        c.add(source)
        c.add(destination)
        if source.family == .v4 {
            c.add(UInt16(proto))
            c.add(UInt16(length))
        } else {
            c.add(UInt16(length >> 16))
            c.add(UInt16(truncatingIfNeeded: length))
            c.add(UInt16(proto))
        }
        c.add(bytes, offset..<offset + length)
        return c.value
    }
}
