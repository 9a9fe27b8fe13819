import SwitchyardABI

/// What makes a backend the same backend on every LB node: its address and port. Maglev's
/// permutation is derived from this alone.
public struct BackendIdentity: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// `SwitchyardHash` over three words: the 16-byte key form of the address, then the port
    /// (network order) and family.
    public func hash(seed: UInt64) -> UInt64 {
        let (a0, a1) = FlowKey.words(address)
        let family: UInt64 = address.family == .v4 ? UInt64(SY_FAMILY_V4) : UInt64(SY_FAMILY_V6)
        return SwitchyardHash.hash(words: [a0, a1, UInt64(port.byteSwapped) | family << 16], seed: seed)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.address, lhs.port) < (rhs.address, rhs.port)
    }

    public var description: String {
        address.family == .v6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
