import SwitchyardABI

/// The datapath's flow key (`struct sy_flow_key`): a 5-tuple, or for `sourceIP` services the
/// client address with a zero source port.
public struct FlowKey: Hashable, Sendable, CustomStringConvertible {
    public var source: IPAddress
    public var destination: IPAddress
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var proto: UInt8

    public init(source: IPAddress, destination: IPAddress, sourcePort: UInt16, destinationPort: UInt16, proto: UInt8) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.proto = proto
    }

    /// Parses the 40 bytes of `struct sy_flow_key` (nil if they are not a valid key).
    public init?(bytes b: [UInt8]) {
        guard b.count == 40, b[37] == UInt8(SY_FAMILY_V4) || b[37] == UInt8(SY_FAMILY_V6) else { return nil }
        func address(_ at: Int) -> IPAddress {
            if b[37] == UInt8(SY_FAMILY_V4) {
                return .v4(IPv4Address(b[at], b[at + 1], b[at + 2], b[at + 3]))
            }
            return .v6(IPv6Address(bytes: b[at..<at + 16]))
        }
        self.init(
            source: address(0), destination: address(16), sourcePort: UInt16(b[32]) << 8 | UInt16(b[33]),
            destinationPort: UInt16(b[34]) << 8 | UInt16(b[35]), proto: b[36])
    }

    /// The five little-endian words `sy_flow_hash` reads, built without materialising the bytes.
    @inline(__always)
    public var hashWords: (UInt64, UInt64, UInt64, UInt64, UInt64) {
        let (s0, s1) = Self.words(source)
        let (d0, d1) = Self.words(destination)
        let family: UInt64 = source.family == .v4 ? UInt64(SY_FAMILY_V4) : UInt64(SY_FAMILY_V6)
        let tail =
            UInt64(sourcePort.byteSwapped) | UInt64(destinationPort.byteSwapped) << 16
            | UInt64(proto) << 32 | family << 40
        return (s0, s1, d0, d1, tail)
    }

    @inline(__always)
    static func words(_ address: IPAddress) -> (UInt64, UInt64) {
        switch address {
        case .v4(let a): (UInt64(a.value.byteSwapped), 0)
        case .v6(let a): (a.high.byteSwapped, a.low.byteSwapped)
        }
    }

    /// `sy_flow_hash` of this key.
    @inline(__always)
    public var hash: UInt64 {
        let w = hashWords
        var h = SwitchyardHash.flowSeed
        h = SwitchyardHash.mix(h, w.0)
        h = SwitchyardHash.mix(h, w.1)
        h = SwitchyardHash.mix(h, w.2)
        h = SwitchyardHash.mix(h, w.3)
        h = SwitchyardHash.mix(h, w.4)
        return SwitchyardHash.finish(h, byteCount: 40)
    }

    /// The 40 bytes of `struct sy_flow_key`, as a map key.
    public var bytes: [UInt8] {
        let family: UInt8 = source.family == .v4 ? UInt8(SY_FAMILY_V4) : UInt8(SY_FAMILY_V6)
        return source.keyBytes + destination.keyBytes
            + [
                UInt8(sourcePort >> 8), UInt8(truncatingIfNeeded: sourcePort),
                UInt8(destinationPort >> 8), UInt8(truncatingIfNeeded: destinationPort),
                proto, family, 0, 0,
            ]
    }

    public var description: String {
        func endpoint(_ a: IPAddress, _ p: UInt16) -> String {
            a.family == .v6 ? "[\(a)]:\(p)" : "\(a):\(p)"
        }
        return "proto \(proto) \(endpoint(source, sourcePort)) > \(endpoint(destination, destinationPort))"
    }
}
