import SwitchyardABI
import SwitchyardCore

/// Stage 5 (bpf/lb/icmp.h): ICMP that concerns a flow, both ways, and pings to VIPs.
///  - *Too big*: a packet that will not fit the fabric after encapsulation is answered with
///    "fragmentation needed" (RFC 792, RFC 1191) or "packet too big" (RFC 4443 §3.2) carrying the
///    reduced MTU, so the client's path-MTU discovery shrinks its segments.
///  - *Steering*: an ICMP error sent to a VIP quotes a packet the backend sent (VIP → client);
///    reversed, that is the client's flow, so the error goes to the backend owning the flow.
enum ICMP {
    static let ipv4SteerableTypes: Set<UInt8> = [3, 11, 12] // unreachable, time exceeded, parameter problem
    static let ipv6SteerableTypes: Set<UInt8> = [1, 2, 3, 4] // unreachable, too big, time exceeded, parameter problem

    /// The reply to a packet that is too big after encapsulation, sent back out of the ingress
    /// port (input MACs swapped) from the VIP to the client. It quotes a fixed length, which the
    /// caller has checked the packet reaches (always, for an MTU of at least 1280).
    static func tooBig(_ frame: [UInt8], _ ip: ParsedIP, mtu: Int) -> [UInt8] {
        var out = Array(frame[6..<12]) + Array(frame[0..<6])
        let l4 = Parse.ethernetHeaderLength + (ip.family == .v4 ? 20 : 40)
        switch ip.family {
        case .v4:
            let quote = Int(SY_ICMP4_TOO_BIG_QUOTE)
            out.appendU16(Parse.etherTypeIPv4)
            out += [0x45, 0]
            out.appendU16(UInt16(20 + 8 + quote))
            out += [0, 0, 0, 0, UInt8(SY_ENCAP_TTL), IPProtocolNumber.icmp, 0, 0]
            out += ip.destination.bytes + ip.source.bytes
            out.setU16(InternetChecksum.ipv4Header(out, at: 14, length: 20), at: 24)
            out += [3, 4, 0, 0, 0, 0]
            out.appendU16(UInt16(mtu))
            out += frame[ip.l3..<ip.l3 + quote]
            var sum = InternetChecksum()
            sum.add(out, l4..<out.count)
            out.setU16(sum.value, at: l4 + 2)
        case .v6:
            let quote = Int(SY_ICMP6_TOO_BIG_QUOTE)
            out.appendU16(Parse.etherTypeIPv6)
            out.appendU32(6 << 28)
            out.appendU16(UInt16(8 + quote))
            out += [IPProtocolNumber.icmpv6, UInt8(SY_ENCAP_TTL)]
            out += ip.destination.bytes + ip.source.bytes
            out += [2, 0, 0, 0]
            out.appendU32(UInt32(mtu))
            out += frame[ip.l3..<ip.l3 + quote]
            let sum = InternetChecksum.transport(
                out, at: l4, length: out.count - l4, proto: IPProtocolNumber.icmpv6,
                source: ip.destination, destination: ip.source)
            out.setU16(sum, at: l4 + 2)
        }
        return out
    }

    /// An echo request to a VIP (RFC 792; RFC 4443 §4.1) answered from the VIP, out of the
    /// ingress port: the same frame with MACs and addresses swapped, TTL / hop limit reset, the
    /// type made a reply and the ICMP checksum updated for that one word (RFC 1624) — identifier,
    /// sequence and data unchanged. Only requests without IPv4 options or IPv6 extension headers
    /// (a reply must not carry a request's routing header); nil for anything else.
    static func echoReply(_ frame: [UInt8], _ ip: ParsedIP) -> [UInt8]? {
        let v4 = ip.family == .v4
        guard ip.l4 == ip.l3 + (v4 ? 20 : 40), ip.l4 + 8 <= ip.end,
            frame[ip.l4] == (v4 ? echoRequest4 : echoRequest6), frame[ip.l4 + 1] == 0
        else { return nil }
        var out = frame
        out.replaceSubrange(0..<6, with: frame[6..<12])
        out.replaceSubrange(6..<12, with: frame[0..<6])
        let size = v4 ? 4 : 16
        let source = ip.l3 + (v4 ? 12 : 8)
        let destination = source + size
        out.replaceSubrange(source..<source + size, with: frame[destination..<destination + size])
        out.replaceSubrange(destination..<destination + size, with: frame[source..<source + size])
        if v4 {
            out[ip.l3 + 8] = UInt8(SY_ENCAP_TTL)
            out.setU16(0, at: ip.l3 + 10)
            out.setU16(InternetChecksum.ipv4Header(out, at: ip.l3, length: 20), at: ip.l3 + 10)
        } else {
            out[ip.l3 + 7] = UInt8(SY_ENCAP_TTL)
        }
        let reply = v4 ? echoReply4 : echoReply6
        out[ip.l4] = reply
        out.setU16(
            InternetChecksum.updated(frame.u16(at: ip.l4 + 2), old: frame.u16(at: ip.l4), new: UInt16(reply) << 8),
            at: ip.l4 + 2)
        return out
    }

    static let echoRequest4: UInt8 = 8, echoReply4: UInt8 = 0
    static let echoRequest6: UInt8 = 128, echoReply6: UInt8 = 129

    /// The flow an ICMP error is about: (service, client-side flow parts) from the quoted header.
    struct QuotedFlow {
        var vip: IPAddress
        var vipPort: UInt16
        var client: IPAddress
        var clientPort: UInt16
        var proto: UInt8
    }

    static func quotedFlow(_ frame: [UInt8], _ ip: ParsedIP) -> Result<QuotedFlow, DropReasonError> {
        guard ip.l4 + 8 <= ip.end else { return .failure(.init(SY_DROP_L4_TRUNCATED)) }
        let type = frame[ip.l4]
        let steerable = ip.family == .v4 ? ipv4SteerableTypes : ipv6SteerableTypes
        guard steerable.contains(type) else { return .failure(.init(SY_DROP_ICMP_UNSUPPORTED)) }
        let q = ip.l4 + 8
        let proto: UInt8
        let vip: IPAddress
        let client: IPAddress
        let ports: Int
        switch ip.family {
        case .v4:
            guard q + 20 <= ip.end, frame[q] >> 4 == 4, frame[q] & 0x0f >= 5 else {
                return .failure(.init(SY_DROP_ICMP_QUOTE_TRUNCATED))
            }
            ports = q + Int(frame[q] & 0x0f) * 4
            proto = frame[q + 9]
            vip = IPAddress.read(.v4, from: frame, at: q + 12)
            client = IPAddress.read(.v4, from: frame, at: q + 16)
        case .v6:
            guard q + 40 <= ip.end, frame[q] >> 4 == 6 else { return .failure(.init(SY_DROP_ICMP_QUOTE_TRUNCATED)) }
            ports = q + 40
            proto = frame[q + 6]
            vip = IPAddress.read(.v6, from: frame, at: q + 8)
            client = IPAddress.read(.v6, from: frame, at: q + 24)
        }
        guard proto == IPProtocolNumber.tcp || proto == IPProtocolNumber.udp else {
            return .failure(.init(SY_DROP_ICMP_UNSUPPORTED))
        }
        guard ports + 4 <= ip.end else { return .failure(.init(SY_DROP_ICMP_QUOTE_TRUNCATED)) }
        return .success(
            QuotedFlow(
                vip: vip, vipPort: frame.u16(at: ports), client: client,
                clientPort: frame.u16(at: ports + 2), proto: proto))
    }
}
