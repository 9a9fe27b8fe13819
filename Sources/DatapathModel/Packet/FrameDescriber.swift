import SwitchyardCore

/// Decodes a frame header by header into readable lines, following tunnels (IPIP, IPv6-in-IPv6,
/// GUE variant 1 on `guePorts`) and ICMP quotes. It never traps on short or odd input: it says
/// where decoding stopped.
public enum FrameDescriber {
    public static func describe(_ frame: [UInt8], guePorts: Set<UInt16> = []) -> [String] {
        guard frame.count >= 14 else { return ["frame: \(frame.count) bytes, shorter than Ethernet"] }
        let mac = { (o: Int) in MACAddress(bytes: Array(frame[o..<o + 6])).description }
        let type = frame.u16(at: 12)
        var lines = ["eth \(mac(6)) > \(mac(0)) type 0x\(String(type, radix: 16)) (\(frame.count) bytes)"]
        switch type {
        case 0x0800: ip(frame, at: 14, family: .v4, guePorts: guePorts, depth: 0, into: &lines)
        case 0x86dd: ip(frame, at: 14, family: .v6, guePorts: guePorts, depth: 0, into: &lines)
        default: break
        }
        return lines
    }

    private static func ip(_ f: [UInt8], at o: Int, family: IPAddress.Family, guePorts: Set<UInt16>, depth: Int,
                           into lines: inout [String]) {
        let indent = String(repeating: "  ", count: depth + 1)
        guard depth < 4 else { return }
        var proto: UInt8, l4: Int, end: Int
        switch family {
        case .v4:
            guard o + 20 <= f.count, f[o] >> 4 == 4 else { lines.append("\(indent)ipv4: truncated or not IPv4"); return }
            let ihl = Int(f[o] & 0xf) * 4
            let total = Int(f.u16(at: o + 2))
            let flags = f.u16(at: o + 6)
            proto = f[o + 9]
            l4 = o + ihl
            end = min(f.count, o + total)
            lines.append("\(indent)ipv4 \(IPAddress.read(.v4, from: f, at: o + 12)) > \(IPAddress.read(.v4, from: f, at: o + 16)) proto \(proto) len \(total) ttl \(f[o + 8]) id \(f.u16(at: o + 4))\(flags & 0x4000 != 0 ? " DF" : "")\(flags & 0x2000 != 0 ? " MF" : "")\(flags & 0x1fff != 0 ? " off \(flags & 0x1fff)" : "")\(ihl > 20 ? " options \(ihl - 20)" : "") csum 0x\(String(f.u16(at: o + 10), radix: 16))")
        case .v6:
            guard o + 40 <= f.count, f[o] >> 4 == 6 else { lines.append("\(indent)ipv6: truncated or not IPv6"); return }
            proto = f[o + 6]
            l4 = o + 40
            end = min(f.count, o + 40 + Int(f.u16(at: o + 4)))
            lines.append("\(indent)ipv6 \(IPAddress.read(.v6, from: f, at: o + 8)) > \(IPAddress.read(.v6, from: f, at: o + 24)) next \(proto) plen \(f.u16(at: o + 4)) hlim \(f[o + 7]) flow 0x\(String(f.u32(at: o) & 0xfffff, radix: 16))")
        }
        switch proto {
        case 4: ip(f, at: l4, family: .v4, guePorts: guePorts, depth: depth + 1, into: &lines)
        case 41: ip(f, at: l4, family: .v6, guePorts: guePorts, depth: depth + 1, into: &lines)
        case 6 where l4 + 20 <= end:
            let flags = f[l4 + 13]
            let names = zip(["F", "S", "R", "P", "A", "U", "E", "C"], 0..<8).filter { flags & (1 << $0.1) != 0 }.map(\.0).joined()
            lines.append("\(indent)  tcp \(f.u16(at: l4)) > \(f.u16(at: l4 + 2)) [\(names.isEmpty ? "." : names)] csum 0x\(String(f.u16(at: l4 + 16), radix: 16))")
        case 17 where l4 + 8 <= end:
            let dport = f.u16(at: l4 + 2)
            lines.append("\(indent)  udp \(f.u16(at: l4)) > \(dport) len \(f.u16(at: l4 + 4)) csum 0x\(String(f.u16(at: l4 + 6), radix: 16))\(guePorts.contains(dport) ? " (GUE)" : "")")
            if guePorts.contains(dport), l4 + 9 <= f.count {
                ip(f, at: l4 + 8, family: f[l4 + 8] >> 4 == 6 ? .v6 : .v4, guePorts: guePorts, depth: depth + 1, into: &lines)
            }
        case 1, 58 where l4 + 8 <= end:
            lines.append("\(indent)  icmp\(proto == 58 ? "v6" : "") type \(f[l4]) code \(f[l4 + 1]) word 0x\(String(f.u32(at: l4 + 4), radix: 16))")
            if [3, 11, 12].contains(f[l4]) && proto == 1 || [1, 2, 3, 4].contains(f[l4]) && proto == 58 {
                lines.append("\(indent)  quoting:")
                ip(f, at: l4 + 8, family: proto == 1 ? .v4 : .v6, guePorts: [], depth: depth + 2, into: &lines)
            }
        default:
            lines.append("\(indent)  proto \(proto), \(max(0, end - l4)) bytes")
        }
    }
}
