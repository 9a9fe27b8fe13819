import DatapathModel
import Foundation
import Glibc
import SwitchyardCore

/// Crafted TCP SYNs from many IPv4 sources, paced, through a raw socket (IP_HDRINCL) of the
/// namespace it runs in: the `flood` scenario's attacker and `bench-sync`'s flow injector.
/// Source `i` is 10.(base + i / 65536).(i / 256 % 256).(i % 256), port 1024 + i % 60000, so
/// every packet is a new flow and its key can be rebuilt from `i`.
public struct SYNSender: Sendable {
    public var destination: IPv4Address
    public var port: UInt16
    public var sourceBase: UInt8

    public init(destination: IPv4Address, port: UInt16, sourceBase: UInt8 = 99) {
        self.destination = destination
        self.port = port
        self.sourceBase = sourceBase
    }

    public func source(_ i: Int) -> IPv4Address {
        IPv4Address(10, UInt8(truncatingIfNeeded: Int(sourceBase) + i / 65536), UInt8(i / 256 % 256), UInt8(i % 256))
    }

    public func sourcePort(_ i: Int) -> UInt16 { UInt16(1024 + i % 60000) }

    /// The flow key the datapath makes for packet `i` (service flow key `connection`).
    public func flowKey(_ i: Int) -> FlowKey {
        FlowKey(
            source: .v4(source(i)), destination: .v4(destination), sourcePort: sourcePort(i), destinationPort: port,
            proto: 6)
    }

    /// The IPv4 + TCP bytes of flow `i`'s SYN, or with `ack` its handshake-completing ACK (no
    /// options; checksums filled).
    public func packet(_ i: Int, ack: Bool = false) -> [UInt8] {
        var p = [UInt8](repeating: 0, count: 40)
        let src = source(i).value
        let dst = destination.value
        let sport = sourcePort(i)
        p[0] = 0x45
        p[2] = 0
        p[3] = 40
        p[6] = 0x40
        p[8] = 64
        p[9] = 6
        for k in 0..<4 {
            p[12 + k] = UInt8(truncatingIfNeeded: src >> (24 - 8 * k))
            p[16 + k] = UInt8(truncatingIfNeeded: dst >> (24 - 8 * k))
        }
        p[4] = UInt8(truncatingIfNeeded: i >> 8)
        p[5] = UInt8(truncatingIfNeeded: i)
        p[20] = UInt8(sport >> 8)
        p[21] = UInt8(truncatingIfNeeded: sport)
        p[22] = UInt8(port >> 8)
        p[23] = UInt8(truncatingIfNeeded: port)
        let seq = UInt32(truncatingIfNeeded: i &* 2_654_435_761) &+ (ack ? 1 : 0)
        for k in 0..<4 {
            p[24 + k] = UInt8(truncatingIfNeeded: seq >> (24 - 8 * k))
            if ack { p[28 + k] = UInt8(truncatingIfNeeded: (seq &* 7) >> (24 - 8 * k)) }
        }
        p[32] = 0x50
        p[33] = ack ? 0x10 : 0x02
        p[34] = 0xff
        p[35] = 0xff
        let ipSum = InternetChecksum.ipv4Header(p, at: 0, length: 20)
        p[10] = UInt8(ipSum >> 8)
        p[11] = UInt8(truncatingIfNeeded: ipSum)
        let tcpSum = InternetChecksum.transport(
            p, at: 20, length: 20, proto: 6, source: .v4(source(i)), destination: .v4(destination))
        p[36] = UInt8(tcpSum >> 8)
        p[37] = UInt8(truncatingIfNeeded: tcpSum)
        return p
    }

    public struct SendError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Sends SYNs `first..<first+count` at `rate` per second (0: as fast as possible), each
    /// followed by its ACK with `handshake`, calling `sent(i, monotonicNs of the SYN)` after
    /// each. Paced by sleeping, not spinning, so the processes measured keep the CPU. Returns
    /// how many went out.
    @discardableResult
    public func send(
        first: Int = 0, count: Int, rate: Double, handshake: Bool = false, sent: ((Int, UInt64) -> Void)? = nil
    ) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_RAW))
        guard fd >= 0 else {
            throw SendError(description: "raw socket: \(String(cString: strerror(errno))) (needs CAP_NET_RAW)")
        }
        defer { close(fd) }
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_IP), IP_HDRINCL, &on, socklen_t(MemoryLayout<Int32>.size))
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_addr.s_addr = destination.value.bigEndian
        let start = Self.monotonicNs()
        var done = 0
        for n in 0..<count {
            let i = first + n
            if rate > 0 {
                let due = start + UInt64(Double(n) / rate * 1e9)
                if due > Self.monotonicNs() {
                    var ts = timespec(tv_sec: Int(due / 1_000_000_000), tv_nsec: Int(due % 1_000_000_000))
                    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil)
                }
            }
            func transmit(_ packet: [UInt8]) -> Bool {
                packet.withUnsafeBytes { bytes in
                    withUnsafePointer(to: &to) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                        }
                    }
                } == packet.count
            }
            let at = Self.monotonicNs()
            if transmit(packet(i)) {
                if handshake { _ = transmit(packet(i, ack: true)) }
                done += 1
                sent?(i, at)
            }
        }
        return done
    }

    public static func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
