import SwitchyardCore

/// A packet described by its fields, built into an Ethernet frame with correct lengths and
/// checksums. Tests, fixtures, `switchyard trace` and the random generator all build packets
/// through this one type; `mutations` then break them on purpose.
public struct PacketDescription: Sendable, Hashable {
    public enum Transport: Sendable, Hashable {
        case tcp(sourcePort: UInt16, destinationPort: UInt16, flags: UInt8)
        case udp(sourcePort: UInt16, destinationPort: UInt16)
        /// ICMP or ICMPv6 by the address family. `rest` is the second header word (e.g. the MTU
        /// of "fragmentation needed"); `quote` is the packet the error is about.
        case icmp(type: UInt8, code: UInt8, rest: UInt32, quote: Quote?)
    }

    /// The invoking packet an ICMP error carries, cut to `length` bytes of its IP packet
    /// (nil: IPv4 header + 8 bytes, RFC 792; IPv6: all of it).
    public struct Quote: Sendable, Hashable {
        public var packet: Box<PacketDescription>
        public var length: Int?
        public init(packet: PacketDescription, length: Int?) {
            self.packet = Box(packet)
            self.length = length
        }
    }

    /// Frame-level damage applied after building.
    public enum Mutation: Sendable, Hashable {
        case truncate(Int)
        case poke(offset: Int, bytes: [UInt8])
        case pad(Int)
    }

    public var source: IPAddress
    public var destination: IPAddress
    public var transport: Transport
    public var payloadLength = 0
    public var ttl: UInt8 = 64
    public var tos: UInt8 = 0
    public var ipID: UInt16 = 0x1c46
    public var dontFragment = true
    public var moreFragments = false
    public var fragmentOffset: UInt16 = 0
    /// Bytes of IPv4 options (NOPs ending in End-of-list), a multiple of 4, at most 40.
    public var ipv4OptionsLength = 0
    /// IPv6 extension headers in order, by their protocol numbers (0, 43, 44, 60).
    public var ipv6Extensions: [UInt8] = []
    public var flowLabel: UInt32 = 0
    public var sourceMAC = MACAddress(bytes: [0x02, 0, 0, 0, 0, 0x01])
    public var destinationMAC = MACAddress(bytes: [0x02, 0, 0, 0, 0, 0x02])
    public var mutations: [Mutation] = []

    public init(source: IPAddress, destination: IPAddress, transport: Transport) {
        self.source = source
        self.destination = destination
        self.transport = transport
    }

    public static let tcpSeq: UInt32 = 0x0100_0000
    public static let tcpAck: UInt32 = 0x0200_0000

    /// The Ethernet frame, mutations applied.
    public func frame() -> [UInt8] {
        var frame = sourceMACFree()
        for mutation in mutations {
            switch mutation {
            case .truncate(let length): frame = Array(frame.prefix(max(0, length)))
            case .poke(let offset, let bytes):
                // Bytes outside the frame are dropped: a poke never grows the frame.
                for (i, byte) in bytes.enumerated() where offset >= 0 && offset < frame.count - i {
                    frame[offset + i] = byte
                }
            case .pad(let count): frame += [UInt8](repeating: 0, count: count)
            }
        }
        return frame
    }

    private func sourceMACFree() -> [UInt8] {
        var frame = destinationMAC.bytes + sourceMAC.bytes
        frame.appendU16(source.family == .v4 ? 0x0800 : 0x86dd)
        return frame + ipPacket()
    }

    /// The IP packet alone (no Ethernet header, no mutations).
    public func ipPacket() -> [UInt8] {
        let (proto, l4) = transportBytes()
        return source.family == .v4 ? ipv4(proto: proto, l4: l4) : ipv6(proto: proto, l4: l4)
    }

    private var payload: [UInt8] { (0..<payloadLength).map { UInt8(truncatingIfNeeded: $0) } }

    private func transportBytes() -> (UInt8, [UInt8]) {
        switch transport {
        case .tcp(let sport, let dport, let flags):
            var tcp: [UInt8] = []
            tcp.appendU16(sport)
            tcp.appendU16(dport)
            tcp.appendU32(Self.tcpSeq)
            tcp.appendU32(flags & 0x10 != 0 ? Self.tcpAck : 0)
            tcp += [0x50, flags]
            tcp.appendU16(0xffff) // window
            tcp += [0, 0, 0, 0] // checksum, urgent pointer
            tcp += payload
            tcp.setU16(
                InternetChecksum.transport(
                    tcp, at: 0, length: tcp.count, proto: IPProtocolNumber.tcp,
                    source: source, destination: destination), at: 16)
            return (IPProtocolNumber.tcp, tcp)
        case .udp(let sport, let dport):
            var udp: [UInt8] = []
            udp.appendU16(sport)
            udp.appendU16(dport)
            udp.appendU16(UInt16(8 + payloadLength))
            udp.appendU16(0)
            udp += payload
            var sum = InternetChecksum.transport(
                udp, at: 0, length: udp.count, proto: IPProtocolNumber.udp,
                source: source, destination: destination)
            if sum == 0 { sum = 0xffff } // RFC 768: zero means "no checksum"
            udp.setU16(sum, at: 6)
            return (IPProtocolNumber.udp, udp)
        case .icmp(let type, let code, let rest, let quote):
            var icmp: [UInt8] = [type, code, 0, 0]
            icmp.appendU32(rest)
            if let quote {
                let inner = quote.packet.value.ipPacket()
                let defaultLength = inner[0] >> 4 == 4 ? Int(inner[0] & 0xf) * 4 + 8 : inner.count
                icmp += inner.prefix(quote.length ?? defaultLength)
            }
            icmp += payload
            let isV6 = source.family == .v6
            let sum =
                isV6
                ? InternetChecksum.transport(
                    icmp, at: 0, length: icmp.count, proto: IPProtocolNumber.icmpv6,
                    source: source, destination: destination)
                : {
                    var c = InternetChecksum()
                    c.add(icmp, 0..<icmp.count)
                    return c.value
                }()
            icmp.setU16(sum, at: 2)
            return (isV6 ? IPProtocolNumber.icmpv6 : IPProtocolNumber.icmp, icmp)
        }
    }

    private func ipv4(proto: UInt8, l4: [UInt8]) -> [UInt8] {
        let headerLength = 20 + ipv4OptionsLength
        var ip: [UInt8] = [0x40 | UInt8(headerLength / 4), tos]
        ip.appendU16(UInt16(headerLength + l4.count))
        ip.appendU16(ipID)
        var flags = fragmentOffset & 0x1fff
        if dontFragment { flags |= 0x4000 }
        if moreFragments { flags |= 0x2000 }
        ip.appendU16(flags)
        ip += [ttl, proto, 0, 0]
        ip += source.bytes + destination.bytes
        if ipv4OptionsLength > 0 {
            ip += [UInt8](repeating: 1, count: ipv4OptionsLength - 1) + [0] // NOPs, End of Option List
        }
        ip.setU16(InternetChecksum.ipv4Header(ip, at: 0, length: headerLength), at: 10)
        return ip + l4
    }

    private func ipv6(proto: UInt8, l4: [UInt8]) -> [UInt8] {
        var extensions: [UInt8] = []
        for (index, header) in ipv6Extensions.enumerated() {
            let next = index + 1 < ipv6Extensions.count ? ipv6Extensions[index + 1] : proto
            switch header {
            case IPProtocolNumber.ipv6Fragment:
                var fragment: [UInt8] = [next, 0]
                fragment.appendU16(fragmentOffset << 3 | (moreFragments ? 1 : 0))
                fragment.appendU32(UInt32(ipID))
                extensions += fragment
            case IPProtocolNumber.ipv6Route:
                extensions += [next, 0, 0, 0, 0, 0, 0, 0] // type 0 with segments left 0: ignored
            default:
                extensions += [next, 0, 1, 4, 0, 0, 0, 0] // Hop-by-hop / Destination: PadN
            }
        }
        let firstNext = ipv6Extensions.first ?? proto
        var ip: [UInt8] = []
        ip.appendU32(6 << 28 | UInt32(tos) << 20 | (flowLabel & 0xfffff))
        ip.appendU16(UInt16(extensions.count + l4.count))
        ip += [firstNext, ttl]
        ip += source.bytes + destination.bytes
        return ip + extensions + l4
    }
}

/// A heap box so a packet can quote a packet.
public final class Box<Value: Sendable & Hashable>: Sendable, Hashable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
    public static func == (lhs: Box, rhs: Box) -> Bool { lhs.value == rhs.value }
    public func hash(into hasher: inout Hasher) { hasher.combine(value) }
}
