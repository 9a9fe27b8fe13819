import SwitchyardCore
import Testing

@testable import DatapathModel

@Suite struct PacketTests {
    /// RFC 1071 §3 worked example: words 0001 f203 f4f5 f6f7 sum to 0xddf2, checksum 0x220d.
    @Test func rfc1071Example() {
        var c = InternetChecksum()
        c.add([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0..<8)
        #expect(c.value == 0x220d)
    }

    /// RFC 1624's update leaves a checksum that verifies, for random messages and word changes,
    /// and for the all-zero message where eqn. 3 alone would write 0 (only 0xffff verifies).
    @Test func incrementalUpdateVerifies() {
        var rng = SplitMix64(seed: 11)
        func verifies(_ words: [UInt16]) -> Bool {
            var c = InternetChecksum()
            for w in words { c.add(w) }
            return c.value == 0
        }
        for _ in 0..<10_000 {
            var words = (0..<(2 + Int(rng.next() % 12))).map { _ in
                rng.next() % 4 == 0 ? 0 : UInt16(truncatingIfNeeded: rng.next())
            }
            words[1] = 0
            var c = InternetChecksum()
            for w in words { c.add(w) }
            words[1] = c.value
            let at = [0] + Array(2..<words.count)
            let i = at[Int(rng.next() % UInt64(at.count))]
            let new: UInt16 = rng.next() % 3 == 0 ? 0 : UInt16(truncatingIfNeeded: rng.next())
            words[1] = InternetChecksum.updated(words[1], old: words[i], new: new)
            words[i] = new
            #expect(verifies(words), "\(words)")
        }
        // An echo request with no identifier, sequence or data, made a reply: all words zero.
        let request: [UInt16] = [0x0800, 0xf7ff, 0, 0]
        #expect(verifies(request))
        let reply: [UInt16] = [0x0000, InternetChecksum.updated(0xf7ff, old: 0x0800, new: 0), 0, 0]
        #expect(reply[1] == 0xffff && verifies(reply))
    }

    @Test(arguments: [
        "tcp 10.0.1.2:40000 > 10.200.0.10:80 S",
        "tcp 10.0.1.2:40000 > 10.200.0.10:80 PA len=333 ipopts=8 ttl=3 tos=184",
        "udp 192.0.2.1:53 > 10.200.0.53:53 len=1",
        "tcp [2001:db8::2]:40000 > [2001:db8:200::10]:80 SE ext=hbh,rt,dst",
        "udp [2001:db8::2]:5353 > [2001:db8:200::10]:53 len=77 flowlabel=12345",
        "icmp 192.0.2.1 > 10.200.0.10 frag-needed mtu=1400 quote=\"tcp 10.200.0.10:80 > 10.0.1.2:40000 A len=50\"",
        "icmp 2001:db8::1 > 2001:db8::2 toobig mtu=1280 quote=\"udp [2001:db8::2]:53 > [2001:db8::1]:5353 len=10\"",
    ])
    func builtPacketsParseBack(_ spec: String) throws {
        let p = try PacketSpec.parse(spec)
        let frame = p.frame()
        let v4 = p.source.family == .v4
        #expect(frame.u16(at: 12) == (v4 ? 0x0800 : 0x86dd))
        var l4 = 14
        var end = frame.count
        var proto: UInt8
        if v4 {
            let ihl = Int(frame[14] & 0xf) * 4
            #expect(Int(frame.u16(at: 16)) == frame.count - 14)
            #expect(InternetChecksum.ipv4Header(frame, at: 14, length: ihl) == 0, "IPv4 header checksum verifies")
            #expect(IPAddress.read(.v4, from: frame, at: 26) == p.source)
            #expect(IPAddress.read(.v4, from: frame, at: 30) == p.destination)
            proto = frame[23]
            l4 += ihl
        } else {
            #expect(Int(frame.u16(at: 18)) == frame.count - 54)
            #expect(IPAddress.read(.v6, from: frame, at: 22) == p.source)
            #expect(IPAddress.read(.v6, from: frame, at: 38) == p.destination)
            proto = frame[20]
            l4 = 54
            while [0, 43, 60].contains(proto) {
                proto = frame[l4]
                l4 += (Int(frame[l4 + 1]) + 1) * 8
            }
        }
        end = frame.count
        // The transport checksum verifies over the pseudo-header (ICMPv4 has none).
        let sum: UInt16
        if proto == 1 {
            var c = InternetChecksum()
            c.add(frame, l4..<end)
            sum = c.value
        } else {
            sum = InternetChecksum.transport(
                frame, at: l4, length: end - l4, proto: proto, source: p.source, destination: p.destination)
        }
        #expect(sum == 0 || (proto == 17 && frame.u16(at: l4 + 6) == 0), "\(spec): transport checksum")
        if let (sport, dport, _) = p.ports {
            #expect(frame.u16(at: l4) == sport)
            #expect(frame.u16(at: l4 + 2) == dport)
        }
    }

    @Test(arguments: [
        ("tcp 10.0.1.2 > 10.200.0.10:80", "ADDR:PORT"),
        ("tcp 10.0.1.2:70000 > 10.200.0.10:80", "not a port"),
        ("tcp 10.0.1.2:1 > [2001:db8::1]:80", "different families"),
        ("sctp 10.0.1.2:1 > 10.0.0.1:2", "unknown protocol"),
        ("tcp 10.0.1.2:1 > 10.0.0.1:2 S len=x", "len=N"),
        ("tcp 10.0.1.2:1 > 10.0.0.1:2 S bogus", "unknown option 'bogus'"),
        ("icmp 10.0.0.1 > 10.0.0.2 wat", "unknown icmp type"),
        ("tcp 10.0.1.2:1 > 10.0.0.1:2 S quote=\"x", "unterminated quote"),
        ("tcp 10.0.1.2:1 > 10.0.0.1:2 S ipopts=6", "4-byte words"),
        ("tcp 10.0.1.2:1 > 10.0.0.1:2 S ext=foo", "unknown extension"),
        // Fuzz findings: a negative offset indexed before the frame, a huge one overflowed, and
        // thousands of extension headers overflowed the 16-bit IPv6 payload length.
        ("tcp 10.0.1.2:1 > 10.0.0.1:2 S poke=-1:ff", "OFFSET from 0 to 65535"),
        ("tcp 10.0.1.2:1 > 10.0.0.1:2 S poke=9223372036854775807:ffff", "OFFSET from 0 to 65535"),
        ("tcp [::1]:1 > [::2]:2 S ext=" + Array(repeating: "rt", count: 9).joined(separator: ","), "at most 8"),
    ])
    func specErrorsSayWhatIsWrong(_ spec: String, _ message: String) {
        #expect {
            _ = try PacketSpec.parse(spec)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    /// Pokes past the end are dropped; they never grow the frame.
    @Test func pokesOutsideTheFrameAreDropped() throws {
        let plain = try PacketSpec.parse("udp 10.0.1.2:1 > 10.0.0.1:2").frame()
        let poked = try PacketSpec.parse("udp 10.0.1.2:1 > 10.0.0.1:2 poke=\(plain.count - 1):abcd").frame()
        #expect(poked.count == plain.count)
        #expect(poked.last == 0xab)
        #expect(try PacketSpec.parse("udp 10.0.1.2:1 > 10.0.0.1:2 poke=9000:ff").frame() == plain)
    }

    @Test func describerFollowsTunnelsAndNeverTraps() throws {
        var tables = DatapathTables(
            config: SwitchyardConfig(
                node: NodeSettings(name: "t", ipv4Source: IPv4Address(10, 0, 0, 11)),
                services: [
                    Service(
                        name: "dns", key: ServiceKey(vip: IPAddress("10.200.0.53")!, port: 53, proto: .udp),
                        encap: .gue, guePort: 6080, backends: [Backend(address: IPAddress("10.1.0.21")!, port: 53)])
                ]))
        let frame = try PacketSpec.parse("udp 10.0.1.2:5353 > 10.200.0.53:53 len=4").frame()
        guard case .tx(let out) = Pipeline.process(frame, tables: &tables).verdict else {
            Issue.record("not forwarded")
            return
        }
        let lines = FrameDescriber.describe(out, guePorts: [6080])
        #expect(lines.contains { $0.contains("ipv4 10.0.0.11 > 10.1.0.21 proto 17") })
        #expect(lines.contains { $0.contains("(GUE)") })
        #expect(lines.contains { $0.contains("ipv4 10.0.1.2 > 10.200.0.53") })
        for cut in 0..<out.count { _ = FrameDescriber.describe(Array(out.prefix(cut)), guePorts: [6080]) }
    }
}
