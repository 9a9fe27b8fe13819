import DatapathModel
import Foundation
import Glibc
import SwitchyardCore

/// ICMP / ICMPv6 echo through a raw socket of the namespace it runs in: the lab's proof that
/// VIPs answer ping (the lab installs no ping tool). Requests carry an identifier of their own
/// and a sequence number; only replies from the pinged address with both are counted.
public struct Pinger: Sendable {
    public struct Result: Codable, Sendable, Equatable {
        public var sent = 0
        public var received = 0
        /// Round trips of the replies, microseconds.
        public var rttMicroseconds: [Int] = []
    }

    public struct PingError: Error, CustomStringConvertible { public var description: String }

    public var address: IPAddress
    public var identifier = UInt16(truncatingIfNeeded: getpid() ^ Int32.random(in: 0...0xffff))

    public init(address: IPAddress) { self.address = address }

    /// The request with sequence `seq`; IPv4's checksum is ours to compute, ICMPv6's the kernel's.
    func request(_ seq: UInt16) -> [UInt8] {
        var icmp: [UInt8] = [address.family == .v4 ? 8 : 128, 0, 0, 0]
        icmp.appendU16(identifier)
        icmp.appendU16(seq)
        icmp += Array("switchyard lab ping".utf8)
        if address.family == .v4 {
            var sum = InternetChecksum()
            sum.add(icmp, 0..<icmp.count)
            icmp.setU16(sum.value, at: 2)
        }
        return icmp
    }

    /// The sequence number a received datagram answers, if it is our echo reply from `address`.
    func answered(_ datagram: [UInt8], from source: IPAddress) -> UInt16? {
        guard source == address else { return nil }
        // A raw IPv4 socket hands over the IP header too; ICMPv6 comes without it.
        let at = address.family == .v4 ? Int((datagram.first ?? 0) & 0x0f) * 4 : 0
        guard datagram.count >= at + 8, datagram[at] == (address.family == .v4 ? 0 : 129), datagram[at + 1] == 0,
            datagram.u16(at: at + 4) == identifier
        else { return nil }
        return datagram.u16(at: at + 6)
    }

    /// Sends `count` requests `interval` apart and waits up to `timeout` after the last.
    public func run(count: Int, interval: Double = 0.1, timeout: Double = 2) throws -> Result {
        let v4 = address.family == .v4
        let fd = socket(v4 ? AF_INET : AF_INET6, Int32(SOCK_RAW.rawValue), Int32(v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6))
        guard fd >= 0 else {
            throw PingError(description: "raw ICMP socket: \(String(cString: strerror(errno))) (needs CAP_NET_RAW)")
        }
        defer { close(fd) }
        var storage = sockaddr_storage()
        let length: socklen_t
        switch address {
        case .v4(let a):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_addr.s_addr = a.value.bigEndian
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: sin, as: sockaddr_in.self) }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        case .v6(let a):
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: a.bytes) }
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: sin6, as: sockaddr_in6.self) }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
        var result = Result()
        var sentAt: [UInt16: UInt64] = [:]
        var next = 0
        var nextDue = SYNSender.monotonicNs()
        var deadline = UInt64.max
        var buffer = [UInt8](repeating: 0, count: 2048)
        while result.received < count {
            let now = SYNSender.monotonicNs()
            if next < count, now >= nextDue {
                let packet = request(UInt16(next))
                let n = packet.withUnsafeBytes { bytes in
                    withUnsafePointer(to: &storage) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(fd, bytes.baseAddress, bytes.count, 0, $0, length)
                        }
                    }
                }
                if n == packet.count {
                    sentAt[UInt16(next)] = now
                    result.sent += 1
                }
                next += 1
                nextDue = now + UInt64(interval * 1e9)
                if next == count { deadline = now + UInt64(timeout * 1e9) }
            }
            if now >= deadline { break }
            let wait = next < count ? nextDue : deadline
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(max(1, min(1000, (wait &- now) / 1_000_000)))) > 0 else { continue }
            var from = sockaddr_storage()
            var fromLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let received = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, bytes.baseAddress, bytes.count, 0, $0, &fromLength)
                    }
                }
            }
            guard received > 0 else { continue }
            let source: IPAddress = withUnsafeBytes(of: &from) { raw in
                if v4 {
                    return .v4(IPv4Address(UInt32(bigEndian: raw.load(as: sockaddr_in.self).sin_addr.s_addr)))
                }
                let sin6 = raw.load(as: sockaddr_in6.self)
                return .v6(IPv6Address(bytes: withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }))
            }
            if let seq = answered(Array(buffer[0..<received]), from: source), let at = sentAt.removeValue(forKey: seq) {
                result.received += 1
                result.rttMicroseconds.append(Int((SYNSender.monotonicNs() - at) / 1000))
            }
        }
        return result
    }
}
