import SwitchyardABI
import SwitchyardCore

/// Stage 4 (bpf/lb/encap.h): wrap the IP packet for its backend. The outer family is the
/// backend's; the outer protocol says what is inside: 4 (IPv4, RFC 2003 / RFC 2473), 41 (IPv6,
/// RFC 2473 / RFC 4213), or 17 for GUE variant 1 (the inner IP header follows UDP directly).
enum Encap {
    static func overhead(outer: IPAddress.Family, gue: Bool) -> Int {
        switch (outer, gue) {
        case (.v4, false): Int(SY_OVERHEAD_IPIP)
        case (.v6, false): Int(SY_OVERHEAD_IP6IP6)
        case (.v4, true): Int(SY_OVERHEAD_GUE4)
        case (.v6, true): Int(SY_OVERHEAD_GUE6)
        }
    }

    /// Output MACs: the node's configured pair, else the input's swapped (the kernel asks the FIB
    /// first; differential tests configure the pair so both sides agree).
    static func ethernet(_ frame: [UInt8], node: DatapathTables.Node, etherType: UInt16) -> [UInt8] {
        var out: [UInt8]
        if let source = node.sourceMAC, let nextHop = node.nextHopMAC {
            out = nextHop.bytes + source.bytes
        } else {
            out = Array(frame[6..<12]) + Array(frame[0..<6])
        }
        out.appendU16(etherType)
        return out
    }

    static func build(
        _ frame: [UInt8], _ ip: ParsedIP, backend: IPAddress, service: DatapathTables.ServiceEntry,
        hash: UInt64, node: DatapathTables.Node
    ) -> Result<[UInt8], DropReasonError> {
        let innerProto =
            service.gue ? IPProtocolNumber.udp : (ip.family == .v4 ? IPProtocolNumber.ipip : IPProtocolNumber.ipv6)
        let gueLength = service.gue ? 8 : 0
        var out: [UInt8]
        switch backend {
        case .v4(let destination):
            guard let source = node.ipv4Source else { return .failure(.init(SY_DROP_NO_SOURCE_ADDRESS)) }
            out = ethernet(frame, node: node, etherType: Parse.etherTypeIPv4)
            let l3 = out.count
            out += [0x45, ip.tos]
            out.appendU16(UInt16(20 + gueLength + ip.ipLength))
            // An inner IPv4 keeps its ID and DF (RFC 2003 §3.1); an inner IPv6 must not be
            // fragmented on the way, so DF is set and the ID is unused (RFC 6864 §4.1).
            out.appendU16(ip.family == .v4 ? ip.ipv4ID : 0)
            out.appendU16(ip.family == .v4 && !ip.dontFragment ? 0 : 0x4000)
            out += [UInt8(SY_ENCAP_TTL), innerProto, 0, 0]
            out.appendU32(source.value)
            out.appendU32(destination.value)
            out.setU16(InternetChecksum.ipv4Header(out, at: l3, length: 20), at: l3 + 10)
        case .v6(let destination):
            guard let source = node.ipv6Source else { return .failure(.init(SY_DROP_NO_SOURCE_ADDRESS)) }
            out = ethernet(frame, node: node, etherType: Parse.etherTypeIPv6)
            out.appendU32(6 << 28 | UInt32(ip.tos) << 20 | UInt32(truncatingIfNeeded: hash) & 0xfffff)
            out.appendU16(UInt16(gueLength + ip.ipLength))
            out += [innerProto, UInt8(SY_ENCAP_TTL)]
            out += source.bytes + destination.bytes
        }
        if service.gue {
            out.appendU16(
                UInt16(SY_GUE_SOURCE_PORT_BASE) | UInt16(truncatingIfNeeded: hash) & UInt16(SY_GUE_SOURCE_PORT_MASK))
            out.appendU16(service.guePort)
            out.appendU16(UInt16(8 + ip.ipLength))
            out.appendU16(0) // zero UDP checksum for tunnels: RFC 6935, RFC 6936
        }
        out += frame[ip.l3...]
        return .success(out)
    }
}
