import SwitchyardCore

/// Big-endian field access on a frame held as `[UInt8]`. Callers check bounds first, as the BPF
/// program must before every access; these trap on a bug, never on peer input.
extension Array where Element == UInt8 {
    @inline(__always)
    public func u16(at offset: Int) -> UInt16 {
        UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    @inline(__always)
    public func u32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8
            | UInt32(self[offset + 3])
    }

    @inline(__always)
    public mutating func setU16(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(value >> 8)
        self[offset + 1] = UInt8(truncatingIfNeeded: value)
    }

    @inline(__always)
    public mutating func setU32(_ value: UInt32, at offset: Int) {
        self[offset] = UInt8(value >> 24)
        self[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
        self[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
        self[offset + 3] = UInt8(truncatingIfNeeded: value)
    }

    public mutating func appendU16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    public mutating func appendU32(_ value: UInt32) {
        appendU16(UInt16(value >> 16))
        appendU16(UInt16(truncatingIfNeeded: value))
    }

    public var hexString: String {
        map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    public init?(hex: some StringProtocol) {
        let digits = [Character](hex.filter { !$0.isWhitespace })
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let byte = UInt8(String(digits[index...index + 1]), radix: 16) else { return nil }
            bytes.append(byte)
            index += 2
        }
        self = bytes
    }
}

extension IPAddress {
    /// Reads an address of `family` at `offset` of a frame (4 or 16 bytes, network order).
    public static func read(_ family: IPAddress.Family, from bytes: [UInt8], at offset: Int) -> IPAddress {
        switch family {
        case .v4: return .v4(IPv4Address(bytes.u32(at: offset)))
        case .v6:
            var high: UInt64 = 0
            var low: UInt64 = 0
            for i in 0..<8 { high = high << 8 | UInt64(bytes[offset + i]) }
            for i in 8..<16 { low = low << 8 | UInt64(bytes[offset + i]) }
            return .v6(IPv6Address(high: high, low: low))
        }
    }
}
