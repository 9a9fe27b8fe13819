/// An Ethernet MAC address.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8]

    public static let zero = MACAddress(bytes: [0, 0, 0, 0, 0, 0])

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 6, "a MAC address is 6 bytes")
        self.bytes = bytes
    }

    /// `aa:bb:cc:dd:ee:ff`, colon-separated, two hex digits each.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.bytes = bytes
    }

    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
}
