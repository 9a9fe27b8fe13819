import Glibc
import SwitchyardCore

@testable import SwitchyardDatapath

/// The few sockets the pod traffic test needs, made in the calling thread's namespace.
enum Sockets {
    static func check(_ fd: Int32, _ what: String) throws -> Int32 {
        guard fd >= 0 else { throw BPFError(what, errno: errno) }
        return fd
    }

    /// A TCP listener on 0.0.0.0:port (the kernel answers SYNs without accept).
    static func tcpListener(port: UInt16) throws -> Int32 {
        let fd = try check(socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0), "socket")
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            close(fd)
            throw BPFError("bind/listen :\(port)", errno: errno)
        }
        return fd
    }

    /// Every frame of every interface (AF_PACKET, ETH_P_ALL).
    static func packetCapture() throws -> Int32 {
        try check(socket(AF_PACKET, Int32(SOCK_RAW.rawValue), Int32(UInt16(3).bigEndian)), "AF_PACKET socket")
    }

    /// A raw IPv4 socket of protocol 4: the kernel adds the outer header, we give the inner packet.
    static func rawIPIP() throws -> Int32 {
        try check(socket(AF_INET, Int32(SOCK_RAW.rawValue), 4), "raw IPIP socket")
    }

    static func send(_ fd: Int32, _ bytes: [UInt8], to destination: IPv4Address) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = destination.value.bigEndian
        let sent = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buffer.baseAddress, buffer.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard sent == bytes.count else { throw BPFError("sendto \(destination)", errno: errno) }
    }

    /// The first frame `matching` accepts within `seconds`, or nil.
    static func receive(_ fd: Int32, seconds: Int, matching: ([UInt8]) -> Bool) throws -> [UInt8]? {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var buffer = [UInt8](repeating: 0, count: 2048)
        while ContinuousClock.now < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw BPFError("recv", errno: errno) }
            let frame = Array(buffer.prefix(n))
            if matching(frame) { return frame }
        }
        return nil
    }

    /// The MSS option of the TCP header at `offset`, or nil.
    static func tcpMSS(_ frame: [UInt8], at offset: Int) -> Int? {
        guard offset + 20 <= frame.count else { return nil }
        let end = min(frame.count, offset + Int(frame[offset + 12] >> 4) * 4)
        var i = offset + 20
        while i < end {
            switch frame[i] {
            case 0: return nil
            case 1: i += 1
            default:
                guard i + 1 < end, frame[i + 1] >= 2 else { return nil }
                if frame[i] == 2, frame[i + 1] == 4, i + 3 < end { return Int(frame[i + 2]) << 8 | Int(frame[i + 3]) }
                i += Int(frame[i + 1])
            }
        }
        return nil
    }
}
