/// The classic libpcap file format (tcpdump -w): a 24-byte global header, then per packet a
/// 16-byte record header and the captured bytes. Microsecond and nanosecond magics, both byte
/// orders; Ethernet link type only.
public enum Pcap {
    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    static let linkTypeEthernet: UInt32 = 1

    public static func read(_ bytes: [UInt8]) throws(FormatError) -> [[UInt8]] {
        guard bytes.count >= 24 else {
            throw FormatError(description: "pcap: \(bytes.count) bytes, shorter than the 24-byte header")
        }
        let magic = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        let littleEndian: Bool
        switch magic {
        case 0xa1b2_c3d4, 0xa1b2_3c4d: littleEndian = true
        case 0xd4c3_b2a1, 0x4d3c_b2a1: littleEndian = false
        default:
            throw FormatError(
                description:
                    "pcap: magic 0x\(String(magic, radix: 16)) at byte 0 is not a pcap file (pcapng is not supported)")
        }
        func u32(_ at: Int) -> UInt32 {
            let b = (0..<4).map { UInt32(bytes[at + $0]) }
            return littleEndian
                ? b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 : b[3] | b[2] << 8 | b[1] << 16 | b[0] << 24
        }
        let link = u32(20)
        guard link == linkTypeEthernet else {
            throw FormatError(description: "pcap: link type \(link) at byte 20; only Ethernet (1) is supported")
        }
        var frames: [[UInt8]] = []
        var offset = 24
        while offset < bytes.count {
            guard offset + 16 <= bytes.count else {
                throw FormatError(description: "pcap: record header at byte \(offset) is cut short")
            }
            let length = Int(u32(offset + 8))
            guard length <= 262_144, offset + 16 + length <= bytes.count else {
                throw FormatError(
                    description: "pcap: record at byte \(offset) claims \(length) bytes, past the end of the file")
            }
            frames.append(Array(bytes[(offset + 16)..<(offset + 16 + length)]))
            offset += 16 + length
        }
        return frames
    }

    /// A little-endian, microsecond pcap of `frames` (timestamps one ms apart).
    public static func write(_ frames: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        func le32(_ v: UInt32) {
            out += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)]
        }
        le32(0xa1b2_c3d4)
        out += [2, 0, 4, 0]
        le32(0)
        le32(0)
        le32(262_144)
        le32(linkTypeEthernet)
        for (i, frame) in frames.enumerated() {
            le32(UInt32(i / 1000))
            le32(UInt32(i % 1000 * 1000))
            le32(UInt32(frame.count))
            le32(UInt32(frame.count))
            out += frame
        }
        return out
    }
}
