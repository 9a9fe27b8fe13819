import SwitchyardCore

/// Decodes a frame header by header into readable lines, following tunnels (IPIP, IPv6-in-IPv6,
/// GUE variant 1 on `guePorts`) and ICMP quotes. It never traps on short or odd input: it says
/// where decoding stopped. Every read is checked against `limit`, the end of the enclosing packet
/// (its stated length, cut to the bytes present), so an inner header cannot reach past its outer one.
public enum FrameDescriber {
    /// Tunnels and quotes nest; deeper than this is a crafted frame, not traffic worth reading.
    static let maxDepth = 4

    public static func describe(_ frame: [UInt8], guePorts: Set<UInt16> = []) -> [String] {
        guard frame.count >= 14 else { return ["frame: \(frame.count) bytes, shorter than Ethernet"] }
        let mac = { (o: Int) in MACAddress(bytes: Array(frame[o..<o + 6])).description }
        let type = frame.u16(at: 12)
        var lines = ["eth \(mac(6)) > \(mac(0)) type 0x\(String(type, radix: 16)) (\(frame.count) bytes)"]
        switch type {
        case 0x0800: ip(frame, at: 14, limit: frame.count, family: .v4, guePorts: guePorts, depth: 0, into: &lines)
        case 0x86dd: ip(frame, at: 14, limit: frame.count, family: .v6, guePorts: guePorts, depth: 0, into: &lines)
        default: break
        }
        return lines
    }

    private static func ip(
        _ f: [UInt8], at o: Int, limit: Int, family: IPAddress.Family, guePorts: Set<UInt16>,
        depth: Int, into lines: inout [String]
    ) {
        let indent = String(repeating: "  ", count: depth + 1)
        guard depth < maxDepth else { return }
        let proto: UInt8
        let l4: Int
        let end: Int
        switch family {
        case .v4:
            guard o + 20 <= limit, f[o] >> 4 == 4 else {
                lines.append("\(indent)ipv4: truncated or not IPv4")
                return
            }
            let ihl = Int(f[o] & 0xf) * 4
            let total = Int(f.u16(at: o + 2))
            let flags = f.u16(at: o + 6)
            proto = f[o + 9]
            l4 = o + ihl
            end = min(limit, o + total)
            let fragment =
                (flags & 0x4000 != 0 ? " DF" : "") + (flags & 0x2000 != 0 ? " MF" : "")
                + (flags & 0x1fff != 0 ? " off \(flags & 0x1fff)" : "")
            lines.append(
                "\(indent)ipv4 \(IPAddress.read(.v4, from: f, at: o + 12)) > "
                    + "\(IPAddress.read(.v4, from: f, at: o + 16)) proto \(proto) len \(total) ttl \(f[o + 8]) "
                    + "id \(f.u16(at: o + 4))\(fragment)\(ihl > 20 ? " options \(ihl - 20)" : "") "
                    + "csum 0x\(String(f.u16(at: o + 10), radix: 16))")
            // RFC 791: IHL counts 32-bit words, at least 5; below that the payload has no start.
            guard ihl >= 20 else {
                lines.append("\(indent)  header length \(ihl) below 20: stopped")
                return
            }
        case .v6:
            guard o + 40 <= limit, f[o] >> 4 == 6 else {
                lines.append("\(indent)ipv6: truncated or not IPv6")
                return
            }
            proto = f[o + 6]
            l4 = o + 40
            end = min(limit, o + 40 + Int(f.u16(at: o + 4)))
            lines.append(
                "\(indent)ipv6 \(IPAddress.read(.v6, from: f, at: o + 8)) > "
                    + "\(IPAddress.read(.v6, from: f, at: o + 24)) next \(proto) plen \(f.u16(at: o + 4)) "
                    + "hlim \(f[o + 7]) flow 0x\(String(f.u32(at: o) & 0xfffff, radix: 16))")
        }
        switch proto {
        case IPProtocolNumber.ipip:
            ip(f, at: l4, limit: end, family: .v4, guePorts: guePorts, depth: depth + 1, into: &lines)
        case IPProtocolNumber.ipv6:
            ip(f, at: l4, limit: end, family: .v6, guePorts: guePorts, depth: depth + 1, into: &lines)
        case IPProtocolNumber.tcp where l4 + 20 <= end:
            let flags = f[l4 + 13]
            let letters = ["F", "S", "R", "P", "A", "U", "E", "C"]
            let names = letters.indices.filter { flags & (1 << $0) != 0 }.map { letters[$0] }.joined()
            lines.append(
                "\(indent)  tcp \(f.u16(at: l4)) > \(f.u16(at: l4 + 2)) [\(names.isEmpty ? "." : names)] "
                    + "csum 0x\(String(f.u16(at: l4 + 16), radix: 16))")
        case IPProtocolNumber.udp where l4 + 8 <= end:
            let dport = f.u16(at: l4 + 2)
            let gue = guePorts.contains(dport)
            lines.append(
                "\(indent)  udp \(f.u16(at: l4)) > \(dport) len \(f.u16(at: l4 + 4)) "
                    + "csum 0x\(String(f.u16(at: l4 + 6), radix: 16))\(gue ? " (GUE)" : "")")
            if gue, l4 + 9 <= end {
                // GUE variant 1 (draft-ietf-intarea-gue §4): the IP version nibble says the family.
                ip(
                    f, at: l4 + 8, limit: end, family: f[l4 + 8] >> 4 == 6 ? .v6 : .v4, guePorts: guePorts,
                    depth: depth + 1, into: &lines)
            }
        case IPProtocolNumber.icmp where l4 + 8 <= end, IPProtocolNumber.icmpv6 where l4 + 8 <= end:
            let v6 = proto == IPProtocolNumber.icmpv6
            lines.append(
                "\(indent)  icmp\(v6 ? "v6" : "") type \(f[l4]) code \(f[l4 + 1]) "
                    + "word 0x\(String(f.u32(at: l4 + 4), radix: 16))")
            let errorTypes: Set<UInt8> = v6 ? [1, 2, 3, 4] : [3, 11, 12]
            if errorTypes.contains(f[l4]) {
                lines.append("\(indent)  quoting:")
                ip(f, at: l4 + 8, limit: end, family: v6 ? .v6 : .v4, guePorts: [], depth: depth + 2, into: &lines)
            }
        default:
            lines.append("\(indent)  proto \(proto), \(max(0, end - l4)) bytes")
        }
    }
}
