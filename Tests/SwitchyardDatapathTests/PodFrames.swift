import DatapathModel
import SwitchyardCore

/// Frame helpers for the pod tests: ports changed on a described packet, IPIP built by hand,
/// and an L4 checksum verified from the bytes alone (independent of the program under test).
enum PodFrames {
    static func withPorts(_ p: PacketDescription, source: UInt16? = nil, destination: UInt16? = nil)
        -> PacketDescription
    {
        var p = p
        switch p.transport {
        case .tcp(let s, let d, let flags):
            p.transport = .tcp(sourcePort: source ?? s, destinationPort: destination ?? d, flags: flags)
        case .udp(let s, let d):
            p.transport = .udp(sourcePort: source ?? s, destinationPort: destination ?? d)
        case .icmp:
            break
        }
        return p
    }

    /// Ethernet + outer IPv4 (protocol 4, checksum left 0: decap does not read it) + `inner`.
    static func ipip(_ inner: [UInt8], from: IPv4Address, to: IPv4Address) -> [UInt8] {
        var frame: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]
        let length = 20 + inner.count
        frame += [0x45, 0, UInt8(length >> 8), UInt8(length & 0xff), 0, 1, 0x40, 0, 64, 4, 0, 0]
        frame += IPAddress.v4(from).bytes + IPAddress.v4(to).bytes
        return frame + inner
    }

    struct L4: Equatable {
        var offset: Int
        var proto: UInt8
        var sourcePort: UInt16
        var destinationPort: UInt16
        var checksumField: UInt16
        /// The Internet checksum over pseudo-header and segment: 0 when the stored one is right.
        var verification: UInt16
    }

    /// The transport header of an untagged IPv4/IPv6 frame (no IPv6 extension headers).
    static func l4(_ frame: [UInt8]) -> L4? {
        guard frame.count >= 34 else { return nil }
        let offset: Int
        let proto: UInt8
        let source: IPAddress
        let destination: IPAddress
        let length: Int
        if frame[12] == 0x08, frame[13] == 0x00 {
            offset = 14 + Int(frame[14] & 0x0f) * 4
            proto = frame[23]
            length = (Int(frame[16]) << 8 | Int(frame[17])) - (offset - 14)
            source = .v4(IPv4Address(frame[26], frame[27], frame[28], frame[29]))
            destination = .v4(IPv4Address(frame[30], frame[31], frame[32], frame[33]))
        } else if frame[12] == 0x86, frame[13] == 0xdd, frame.count >= 54 {
            offset = 54
            proto = frame[20]
            length = Int(frame[18]) << 8 | Int(frame[19])
            source = .v6(IPv6Address(bytes: frame[22..<38]))
            destination = .v6(IPv6Address(bytes: frame[38..<54]))
        } else {
            return nil
        }
        guard offset + length <= frame.count, length >= 8 else { return nil }
        let checksumAt = offset + (proto == 6 ? 16 : 6)
        func u16(_ i: Int) -> UInt16 { UInt16(frame[i]) << 8 | UInt16(frame[i + 1]) }
        return L4(
            offset: offset, proto: proto, sourcePort: u16(offset), destinationPort: u16(offset + 2),
            checksumField: u16(checksumAt),
            verification: InternetChecksum.transport(
                frame, at: offset, length: length, proto: proto, source: source, destination: destination))
    }
}
