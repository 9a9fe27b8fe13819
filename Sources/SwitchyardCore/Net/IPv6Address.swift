/// An IPv6 address as two 64-bit halves in host order (`high` holds the first eight bytes).
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public init(bytes: some Collection<UInt8>) {
        precondition(bytes.count == 16, "an IPv6 address is 16 bytes")
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }

    /// RFC 4291 §2.2 text forms: eight groups, one `::`, and an optional dotted IPv4 tail.
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        guard !text.isEmpty, text.count <= 45, !text.contains(":::") else { return nil }
        // Split at the one permitted "::" (no Foundation in the pure core).
        var halves: [String] = []
        let chars = Array(text)
        var start = 0
        var index = 0
        while index < chars.count {
            if chars[index] == ":" && index + 1 < chars.count && chars[index + 1] == ":" {
                halves.append(String(chars[start..<index]))
                index += 2
                start = index
            } else {
                index += 1
            }
        }
        halves.append(String(chars[start...]))
        guard halves.count <= 2 else { return nil }

        func groups(_ part: String, allowIPv4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var fields = part.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            var tail: [UInt16] = []
            if allowIPv4Tail, let last = fields.last, last.contains(".") {
                guard let v4 = IPv4Address(last) else { return nil }
                tail = [UInt16(v4.value >> 16), UInt16(truncatingIfNeeded: v4.value)]
                fields.removeLast()
            }
            var result: [UInt16] = []
            for field in fields {
                guard (1...4).contains(field.count), let group = UInt16(field, radix: 16) else { return nil }
                result.append(group)
            }
            return result + tail
        }

        let all: [UInt16]
        if halves.count == 2 {
            guard let head = groups(halves[0], allowIPv4Tail: false),
                let tail = groups(halves[1], allowIPv4Tail: true),
                head.count + tail.count <= 7
            else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let every = groups(text, allowIPv4Tail: true), every.count == 8 else { return nil }
            all = every
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, group) in all.enumerated() {
            if index < 4 { high = high << 16 | UInt64(group) } else { low = low << 16 | UInt64(group) }
        }
        self.init(high: high, low: low)
    }

    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    public var groups: [UInt16] {
        (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * $0)) }
            + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * $0)) }
    }

    /// RFC 5952 canonical text: lower case, the longest run (two or more) of zero groups as `::`.
    public var description: String {
        let groups = self.groups
        var bestStart = -1
        var bestLength = 0
        var index = 0
        while index < 8 {
            if groups[index] == 0 {
                var end = index
                while end < 8 && groups[end] == 0 { end += 1 }
                if end - index > bestLength {
                    bestStart = index
                    bestLength = end - index
                }
                index = end
            } else {
                index += 1
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestLength >= 2 else { return hex.joined(separator: ":") }
        let head = hex[0..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }

    public var isUnspecified: Bool { high == 0 && low == 0 }
    public var isMulticast: Bool { high >> 56 == 0xff }
    public var isLoopback: Bool { high == 0 && low == 1 }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}
