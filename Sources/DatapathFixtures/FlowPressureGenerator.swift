import DatapathModel
import SwitchyardConfig
import SwitchyardCore

/// Seeded traffic that keeps a small flow table under pressure: many more flows than entries, a
/// few hot flows among many cold ones (so some sets stay busy while others churn), TCP flags of
/// whole connection lives mixed (SYN, ACK, FIN, RST, SYN again), UDP, and ICMP errors about
/// flows. Time is the caller's: `next` says how far the clocks move before each packet, with
/// still stretches (bursts) in which the insert budget runs dry.
public struct FlowPressureGenerator: Sendable {
    /// Services: stateless and stateful, both families, TCP and UDP, a sourceIP key; node MACs set
    /// so no FIB answer is involved.
    public static let yaml = """
        node:
          name: pressure
          ipv4Source: 10.0.0.11
          ipv6Source: fd00::11
          mtu: 1500
          maglevTableSize: 1009
          sourceMAC: 02:00:00:00:00:11
          nextHopMAC: 02:00:00:00:00:fe
        services:
          - {name: web, vip: 10.200.0.10, ports: [{port: 80}],
             backends: [{address: 10.1.0.11}, {address: 10.1.0.12}, {address: 10.1.0.13}]}
          - {name: app, vip: 10.200.0.11, ports: [{port: 443}], mode: stateful,
             backends: [{address: 10.1.0.21}, {address: 10.1.0.22}, {address: 10.1.0.23}]}
          - {name: dns, vip: 10.200.0.53, ports: [{port: 53, protocol: udp}], mode: stateful, encap: gue,
             backends: [{address: 10.1.0.31}, {address: "fd00:1::31"}]}
          - {name: web6, vip: "2001:db8:200::10", ports: [{port: 80}], mode: stateful,
             backends: [{address: "fd00:1::11"}, {address: "fd00:1::12"}]}
          - {name: sticky, vip: 10.200.0.12, ports: [{port: 8080}], flowKey: sourceIP,
             backends: [{address: 10.1.0.41}, {address: 10.1.0.42}]}
        """

    public static func config() throws -> SwitchyardConfig {
        try ConfigLoader.parse(yaml: yaml, file: "pressure").get()
    }

    /// One packet and how far the clocks move before it.
    public struct Step: Sendable {
        public var packet: PacketDescription
        public var advanceNs: UInt64
    }

    private struct Flow: Sendable {
        var client: IPAddress
        var port: UInt16
        var service: Int
    }

    private var rng: SplitMix64
    private let services: [Service]
    private let flows: [Flow]
    private let hot: Int
    private var stillFor = 0

    /// `flowCount` distinct flows, the first `hotCount` of which get half the packets.
    public init(seed: UInt64, config: SwitchyardConfig, flowCount: Int, hotCount: Int) {
        var rng = SplitMix64(seed: seed)
        services = config.services
        let serviceCount = max(config.services.count, 1)
        flows = (0..<max(flowCount, 1)).map { i in
            let service = Int(rng.next() % UInt64(serviceCount))
            let family = config.services.isEmpty ? IPAddress.Family.v4 : config.services[service].key.vip.family
            let n = UInt32(i)
            let client: IPAddress =
                family == .v4
                ? .v4(IPv4Address(10, 50 + UInt8(n >> 16 & 0x3f), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)))
                : .v6(IPv6Address(high: 0x2001_0db8_0500_0000, low: UInt64(n) + 1))
            return Flow(client: client, port: UInt16(1024 + rng.next() % 60000), service: service)
        }
        hot = min(max(hotCount, 1), flows.count)
        self.rng = rng
    }

    private mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }

    public mutating func next() -> Step {
        // Mostly ~100 µs apart (a jiffy every ~40 packets at HZ 250); now and then a burst of a
        // few hundred packets at one instant.
        var advance = UInt64(below(200_000))
        if stillFor > 0 {
            stillFor -= 1
            advance = 0
        } else if below(1000) == 0 {
            stillFor = 100 + below(400)
        }
        let flow = flows[below(2) == 0 ? below(hot) : hot + below(flows.count - hot)]
        guard !services.isEmpty else {
            let packet = PacketDescription(
                source: flow.client, destination: flow.client,
                transport: .udp(sourcePort: 1, destinationPort: 2))
            return Step(packet: packet, advanceNs: advance)
        }
        let service = services[flow.service]
        let vip = service.key.vip
        let port = service.key.port
        let packet: PacketDescription
        if below(50) == 0 {
            // An ICMP error about the flow: steered by the table, never inserted.
            let quoted = PacketDescription(
                source: vip, destination: flow.client,
                transport: service.key.proto == .tcp
                    ? .tcp(sourcePort: port, destinationPort: flow.port, flags: 0x10)
                    : .udp(sourcePort: port, destinationPort: flow.port))
            let router: IPAddress =
                vip.family == .v4
                ? .v4(IPv4Address(192, 0, 2, 1))
                : .v6(IPv6Address(high: 0x2001_0db8_ffff_0000, low: 1))
            let (type, code): (UInt8, UInt8) = vip.family == .v4 ? (3, 4) : (2, 0)
            packet = PacketDescription(
                source: router, destination: vip,
                transport: .icmp(
                    type: type, code: code, rest: 1400,
                    quote: .init(packet: quoted, length: nil)))
        } else if service.key.proto == .udp {
            packet = PacketDescription(
                source: flow.client, destination: vip,
                transport: .udp(sourcePort: flow.port, destinationPort: port))
        } else {
            // SYN, ACK, PSH|ACK, FIN|ACK, RST, RST|ACK, SYN|ACK, SYN|FIN (odd), none.
            let flags: [UInt8] = [0x02, 0x02, 0x10, 0x10, 0x10, 0x18, 0x18, 0x11, 0x04, 0x14, 0x12, 0x03, 0x00]
            packet = PacketDescription(
                source: flow.client, destination: vip,
                transport: .tcp(
                    sourcePort: flow.port, destinationPort: port,
                    flags: flags[below(flags.count)]))
        }
        return Step(packet: packet, advanceNs: advance)
    }
}
