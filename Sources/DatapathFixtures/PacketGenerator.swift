import DatapathModel
import SwitchyardCore

/// Seeded random packets for differential testing: mostly plausible traffic to the config's
/// services (so the deep stages run), with non-VIP traffic, ICMP errors, fragments, options,
/// extension headers, oversize packets, and a quarter of everything damaged.
public struct PacketGenerator: Sendable {
    private var rng: SplitMix64
    private let services: [Service]
    private var recent: [PacketDescription] = []

    public init(seed: UInt64, config: SwitchyardConfig) {
        rng = SplitMix64(seed: seed)
        services = config.services
    }

    private mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }
    private mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    private mutating func client(_ family: IPAddress.Family) -> IPAddress {
        // A small pool, so flows repeat and hit their entries.
        family == .v4
            ? .v4(IPv4Address(10, 0, UInt8(below(4)), UInt8(1 + below(20))))
            : .v6(IPv6Address(high: 0x2001_0db8_0000_0000, low: UInt64(1 + below(40))))
    }

    public mutating func next() -> PacketDescription {
        var p: PacketDescription
        let roll = below(100)
        if roll < 15, !recent.isEmpty {
            p = recent[below(recent.count)] // same flow again
            if case .tcp(let s, let d, _) = p.transport {
                p.transport = .tcp(sourcePort: s, destinationPort: d, flags: [0x10, 0x18, 0x11, 0x04][below(4)])
            }
        } else if roll < 62, !services.isEmpty {
            let service = services[below(services.count)]
            let family = service.key.vip.family
            var port = service.key.port
            var proto = service.key.proto
            if chance(8) { port = UInt16(1 + below(1024)) } // a port with no service
            if chance(5) { proto = proto == .tcp ? .udp : .tcp }
            let sport = UInt16(1024 + below(6))
            p = PacketDescription(
                source: client(family), destination: service.key.vip,
                transport: proto == .tcp
                    ? .tcp(
                        sourcePort: sport, destinationPort: port, flags: [0x02, 0x10, 0x18, 0x04, 0x11, 0x12][below(6)])
                    : .udp(sourcePort: sport, destinationPort: port))
        } else if roll < 72 {
            let v6 = chance(40)
            let dst: IPAddress =
                v6
                ? .v6(IPv6Address(high: 0x2001_0db8_0300_0000, low: UInt64(below(9))))
                : .v4(IPv4Address(10, 99, 0, UInt8(below(9))))
            p = PacketDescription(
                source: client(v6 ? .v6 : .v4), destination: dst,
                transport: .tcp(sourcePort: 40000, destinationPort: 80, flags: 0x02))
        } else if !services.isEmpty {
            // An ICMP error about a flow (VIP → client), or an echo.
            let service = services[below(services.count)]
            let family = service.key.vip.family
            let c = client(family)
            let quoted = PacketDescription(
                source: service.key.vip, destination: c,
                transport: service.key.proto == .tcp
                    ? .tcp(sourcePort: service.key.port, destinationPort: UInt16(1024 + below(6)), flags: 0x10)
                    : .udp(sourcePort: service.key.port, destinationPort: UInt16(1024 + below(6))))
            var q = quoted
            q.payloadLength = [0, 16, 600, 1300][below(4)]
            let types: [(UInt8, UInt8)] =
                family == .v4
                ? [(3, 4), (3, 1), (11, 0), (12, 0), (8, 0)] : [(2, 0), (1, 4), (3, 0), (4, 0), (128, 0)]
            let (type, code) = types[below(types.count)]
            let router: IPAddress =
                family == .v4 ? .v4(IPv4Address(192, 0, 2, 1)) : .v6(IPv6Address(high: 0x2001_0db8_ffff_0000, low: 1))
            p = PacketDescription(
                source: router, destination: service.key.vip,
                transport: .icmp(
                    type: type, code: code, rest: UInt32(1200 + below(300)),
                    quote: .init(packet: q, length: chance(20) ? below(60) : nil)))
        } else {
            p = PacketDescription(
                source: client(.v4), destination: .v4(IPv4Address(10, 99, 0, 1)),
                transport: .udp(sourcePort: 1, destinationPort: 2))
        }

        // Header variety.
        if chance(30) { p.payloadLength = [0, 1, 64, 500, 1200, 1400, 1432, 1440, 1460, 1472, 1480][below(11)] }
        if chance(10) { p.dontFragment = false }
        if p.source.family == .v4 {
            if chance(10) { p.ipv4OptionsLength = 4 * below(11) }
            if chance(4) { p.moreFragments = true }
            if chance(3) { p.fragmentOffset = UInt16(below(8192)) }
        } else {
            if chance(12) { p.ipv6Extensions = (0..<below(6)).map { _ in [0, 60, 43, 60, 44][below(5)] } }
            if chance(10) { p.flowLabel = UInt32(below(0xfffff)) }
        }
        if chance(5) { p.tos = UInt8(below(256)) }
        p.ipID = UInt16(below(65536))

        // Damage.
        if chance(25) {
            let length = p.frame().count
            switch below(4) {
            case 0: p.mutations.append(.truncate(below(length + 1)))
            case 1, 2:
                for _ in 0..<(1 + below(3)) {
                    p.mutations.append(
                        .poke(offset: 12 + below(min(length, 120) - 12), bytes: [UInt8(truncatingIfNeeded: rng.next())])
                    )
                }
            default: p.mutations.append(.pad(1 + below(40)))
            }
        } else if case .icmp = p.transport {
        } else {
            recent.append(p)
            if recent.count > 200 { recent.removeFirst(50) }
        }
        return p
    }
}
