import DatapathModel
import SwitchyardCore

/// Distinct pseudo-random IPv4 TCP clients: flow `i` of a seed is always the same client, and no
/// two indices of one seed give the same one (a bijection on 39 bits: 24 address bits inside
/// 11.0.0.0/8, 15 port bits in the ephemeral range 32768–65535). Disjoint index ranges of one
/// seed are therefore disjoint flow sets — the preloaded flows and the new flows sent into the
/// same table never meet.
struct BenchFlows: Sendable {
    static let bits: UInt64 = 39
    static let mask: UInt64 = (1 << bits) - 1
    /// Indices per seed before the bijection wraps.
    static let count = 1 << 39

    let seed: UInt64

    /// The client of flow `i`: a source address and port.
    func client(_ i: Int) -> (address: UInt32, port: UInt16) {
        // Each step is a bijection modulo 2^39 (xor-shift, multiply by an odd constant, add).
        var x = (UInt64(truncatingIfNeeded: i) &+ seed &* 0x9e37_79b9) & Self.mask
        x ^= x >> 19
        x = (x &* 0x5_deec_e66d) & Self.mask
        x ^= x >> 17
        x = (x &* 0x2_545f_4914_f6cd_d1d) & Self.mask
        x ^= x >> 20
        return (0x0b00_0000 | UInt32(x >> 15), 0x8000 | UInt16(x & 0x7fff))
    }

    /// The flow key the datapath makes for flow `i` sent to `vip`:`port` (TCP, 5-tuple service).
    func key(_ i: Int, vip: IPv4Address, port: UInt16) -> FlowKey {
        let c = client(i)
        return FlowKey(
            source: .v4(IPv4Address(c.address)), destination: .v4(vip), sourcePort: c.port,
            destinationPort: port, proto: 6)
    }
}

/// An untagged IPv4 TCP frame built once from a packet spec, then copied with another client
/// address and port, checksums kept valid (RFC 1624): millions of distinct frames without
/// building each from a spec.
struct FrameTemplate: Sendable {
    private let base: [UInt8]
    private static let ipStart = 14

    enum TemplateError: Error, CustomStringConvertible {
        case notIPv4TCP(String)
        var description: String {
            switch self {
            case .notIPv4TCP(let spec): "bench frame template \"\(spec)\" must be an untagged IPv4 TCP packet"
            }
        }
    }

    init(_ spec: String) throws {
        let frame = try PacketSpec.parse(spec).frame()
        guard frame.count >= Self.ipStart + 40, frame[12] == 0x08, frame[13] == 0x00, frame[Self.ipStart] == 0x45,
            frame[Self.ipStart + 9] == 6
        else { throw TemplateError.notIPv4TCP(spec) }
        base = frame
    }

    /// The template with this client; everything else as in the spec.
    func frame(address: UInt32, port: UInt16) -> [UInt8] {
        var f = base
        let ip = Self.ipStart
        let tcp = Self.ipStart + 20
        func word(_ at: Int) -> UInt16 { UInt16(f[at]) << 8 | UInt16(f[at + 1]) }
        func set(_ at: Int, _ value: UInt16) {
            f[at] = UInt8(value >> 8)
            f[at + 1] = UInt8(value & 0xff)
        }
        var ipSum = word(ip + 10)
        var tcpSum = word(tcp + 16)
        // The source address is covered by both checksums (TCP through its pseudo-header).
        for (offset, new) in [(12, UInt16(address >> 16)), (14, UInt16(address & 0xffff))] {
            let old = word(ip + offset)
            ipSum = InternetChecksum.updated(ipSum, old: old, new: new)
            tcpSum = InternetChecksum.updated(tcpSum, old: old, new: new)
            set(ip + offset, new)
        }
        tcpSum = InternetChecksum.updated(tcpSum, old: word(tcp), new: port)
        set(tcp, port)
        set(ip + 10, ipSum)
        set(tcp + 16, tcpSum)
        return f
    }

    func frame(_ client: (address: UInt32, port: UInt16)) -> [UInt8] {
        frame(address: client.address, port: client.port)
    }
}
