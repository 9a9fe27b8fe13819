import SwitchyardABI
import SwitchyardCore

/// Stage 1 (bpf/lb/parse.h): Ethernet and IP headers, bounds and lengths, the VIP test,
/// fragments and IPv6 extension headers. Everything past this stage may trust the offsets.
struct ParsedIP {
    var family: IPAddress.Family
    /// Offset of the IP header in the frame.
    var l3: Int
    /// IP packet length as its header states (excludes any Ethernet padding).
    var ipLength: Int
    /// Offset of the transport header (after options / extension headers).
    var l4: Int
    var proto: UInt8
    var source: IPAddress
    var destination: IPAddress
    /// IPv4 TOS or IPv6 traffic class, copied to the outer header.
    var tos: UInt8
    var ipv4ID: UInt16
    var dontFragment: Bool

    var end: Int { l3 + ipLength }
}

enum ParseOutcome {
    case pass
    case drop(DropReason)
    case ip(ParsedIP)
}

enum Parse {
    static let ethernetHeaderLength = 14
    static let etherTypeIPv4: UInt16 = 0x0800
    static let etherTypeIPv6: UInt16 = 0x86dd

    static func ip(_ frame: [UInt8], vips: Set<IPAddress>) -> ParseOutcome {
        guard frame.count >= ethernetHeaderLength else { return .drop(SY_DROP_ETH_TRUNCATED) }
        switch frame.u16(at: 12) {
        case etherTypeIPv4: return ipv4(frame, vips: vips)
        case etherTypeIPv6: return ipv6(frame, vips: vips)
        default: return .pass
        }
    }

    /// RFC 791. Options are allowed and skipped; the checksum is not verified (the NIC and the
    /// backend's stack do; an LB that re-verifies only adds cost).
    private static func ipv4(_ frame: [UInt8], vips: Set<IPAddress>) -> ParseOutcome {
        let l3 = ethernetHeaderLength
        guard frame.count >= l3 + 20 else { return .drop(SY_DROP_IP_TRUNCATED) }
        guard frame[l3] >> 4 == 4 else { return .drop(SY_DROP_IP_BAD_VERSION) }
        let headerLength = Int(frame[l3] & 0x0f) * 4
        guard headerLength >= 20 else { return .drop(SY_DROP_IP_BAD_HEADER_LEN) }
        guard frame.count >= l3 + headerLength else { return .drop(SY_DROP_IP_TRUNCATED) }
        let totalLength = Int(frame.u16(at: l3 + 2))
        guard totalLength >= headerLength, l3 + totalLength <= frame.count else {
            return .drop(SY_DROP_IP_BAD_TOTAL_LEN)
        }

        let destination = IPAddress.v4(IPv4Address(frame.u32(at: l3 + 16)))
        guard vips.contains(destination) else { return .pass }
        let flagsAndOffset = frame.u16(at: l3 + 6)
        guard flagsAndOffset & 0x3fff == 0 else { return .drop(SY_DROP_FRAGMENT) } // MF or offset
        return .ip(
            ParsedIP(
                family: .v4, l3: l3, ipLength: totalLength, l4: l3 + headerLength, proto: frame[l3 + 9],
                source: .v4(IPv4Address(frame.u32(at: l3 + 12))), destination: destination,
                tos: frame[l3 + 1], ipv4ID: frame.u16(at: l3 + 4), dontFragment: flagsAndOffset & 0x4000 != 0))
    }

    /// RFC 8200. Hop-by-hop, routing and destination-options headers are skipped, at most
    /// `SY_IPV6_MAX_EXT_HEADERS` of them; a fragment header means a fragment.
    private static func ipv6(_ frame: [UInt8], vips: Set<IPAddress>) -> ParseOutcome {
        let l3 = ethernetHeaderLength
        guard frame.count >= l3 + 40 else { return .drop(SY_DROP_IP_TRUNCATED) }
        guard frame[l3] >> 4 == 6 else { return .drop(SY_DROP_IP_BAD_VERSION) }
        let ipLength = 40 + Int(frame.u16(at: l3 + 4))
        guard l3 + ipLength <= frame.count else { return .drop(SY_DROP_IP_BAD_TOTAL_LEN) }

        let destination = IPAddress.read(.v6, from: frame, at: l3 + 24)
        guard vips.contains(destination) else { return .pass }

        let end = l3 + ipLength
        var next = frame[l3 + 6]
        var offset = l3 + 40
        for _ in 0..<Int(SY_IPV6_MAX_EXT_HEADERS) {
            switch next {
            case IPProtocolNumber.ipv6HopByHop, IPProtocolNumber.ipv6Route, IPProtocolNumber.ipv6DestOptions:
                guard offset + 2 <= end else { return .drop(SY_DROP_IPV6_EXT_TRUNCATED) }
                let length = (Int(frame[offset + 1]) + 1) * 8
                guard offset + length <= end else { return .drop(SY_DROP_IPV6_EXT_TRUNCATED) }
                next = frame[offset]
                offset += length
            case IPProtocolNumber.ipv6Fragment:
                return .drop(SY_DROP_FRAGMENT)
            default:
                return .ip(
                    v6Packet(frame, l3: l3, ipLength: ipLength, l4: offset, proto: next, destination: destination))
            }
        }
        switch next {
        case IPProtocolNumber.ipv6HopByHop, IPProtocolNumber.ipv6Route, IPProtocolNumber.ipv6DestOptions:
            return .drop(SY_DROP_IPV6_EXT_TOO_MANY)
        case IPProtocolNumber.ipv6Fragment:
            return .drop(SY_DROP_FRAGMENT)
        default:
            return .ip(v6Packet(frame, l3: l3, ipLength: ipLength, l4: offset, proto: next, destination: destination))
        }
    }

    private static func v6Packet(
        _ frame: [UInt8], l3: Int, ipLength: Int, l4: Int, proto: UInt8,
        destination: IPAddress
    ) -> ParsedIP {
        let trafficClass = UInt8(truncatingIfNeeded: frame.u16(at: l3) >> 4)
        return ParsedIP(
            family: .v6, l3: l3, ipLength: ipLength, l4: l4, proto: proto,
            source: IPAddress.read(.v6, from: frame, at: l3 + 8), destination: destination,
            tos: trafficClass, ipv4ID: 0, dontFragment: true)
    }

    /// TCP or UDP ports, and TCP flags. TCP needs its whole header (data offset checked).
    static func ports(_ frame: [UInt8], _ ip: ParsedIP) -> Result<(UInt16, UInt16, UInt8), DropReasonError> {
        switch ip.proto {
        case IPProtocolNumber.tcp:
            guard ip.l4 + 20 <= ip.end else { return .failure(.init(SY_DROP_L4_TRUNCATED)) }
            let dataOffset = Int(frame[ip.l4 + 12] >> 4) * 4
            guard dataOffset >= 20, ip.l4 + dataOffset <= ip.end else {
                return .failure(.init(SY_DROP_TCP_BAD_DATA_OFFSET))
            }
            return .success((frame.u16(at: ip.l4), frame.u16(at: ip.l4 + 2), frame[ip.l4 + 13]))
        case IPProtocolNumber.udp:
            guard ip.l4 + 8 <= ip.end else { return .failure(.init(SY_DROP_L4_TRUNCATED)) }
            return .success((frame.u16(at: ip.l4), frame.u16(at: ip.l4 + 2), 0))
        default:
            return .failure(.init(SY_DROP_UNSUPPORTED_PROTO))
        }
    }
}

/// A drop reason as an `Error`, for stages that return `Result`.
struct DropReasonError: Error {
    let reason: DropReason
    init(_ reason: DropReason) { self.reason = reason }
}
