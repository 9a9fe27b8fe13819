import DatapathModel
import Foundation
import SwitchyardConfig
import SwitchyardCore
import Testing

/// `switchyard trace` prints whatever frame it is given, including deliberately broken ones, so the
/// describer must say where decoding stopped instead of trapping (issue 10: an ICMP echo truncated
/// inside its header crashed it).
@Suite struct FrameDescriberTests {
    /// The example config: IPIP (web), IPv6-in-IPv6 (web6) and GUE on port 6080 (dns).
    static func exampleTables() throws -> DatapathTables {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../examples/switchyard.yaml").standardized.path
        return try DatapathTables(config: ConfigLoader.load(path: path).get())
    }

    static let specs = [
        "icmp 10.0.1.2 > 10.200.0.10 echo len=16",
        "icmp 2001:db8::2 > 2001:db8:200::10 echo len=16",
        "icmp 192.0.2.1 > 10.200.0.10 frag-needed mtu=1400 quote=\"tcp 10.200.0.10:80 > 10.0.1.2:40000 A\"",
        "icmp 192.0.2.1 > 10.200.0.10 time-exceeded quote=\"udp 10.200.0.53:53 > 10.0.1.2:5353\" ipopts=8",
        "icmp 2001:db8::1 > 2001:db8:200::10 toobig mtu=1400 quote=\"tcp [2001:db8:200::10]:80 > [2001:db8::2]:4 A\"",
        "tcp 10.0.1.2:40000 > 10.200.0.10:80 S len=10 ipopts=4",
        "tcp [2001:db8::2]:40000 > [2001:db8:200::10]:80 SA",
        "udp 10.0.1.2:5353 > 10.200.0.53:53 len=4",
        "udp [2001:db8::2]:5353 > [2001:db8:200::53]:53 len=3",
    ]

    /// Each spec's frame and, where the example config forwards it, the encapsulated output:
    /// IPIP, IPv6-in-IPv6 and GUE (to IPv4 or IPv6 backends).
    static func frames() throws -> [(String, [UInt8])] {
        var tables = try exampleTables()
        var frames: [(String, [UInt8])] = []
        for spec in specs {
            let frame = try PacketSpec.parse(spec).frame()
            frames.append((spec, frame))
            if case .tx(let out) = Pipeline.process(frame, tables: &tables).verdict {
                frames.append(("out of " + spec, out))
            }
        }
        return frames
    }

    @Test func everyTruncationOfEveryFrameIsDescribed() throws {
        let frames = try Self.frames()
        #expect(frames.count > Self.specs.count + 4, "the example config forwards the TCP, UDP and echo frames")
        for (name, frame) in frames {
            for cut in 0...frame.count {
                let lines = FrameDescriber.describe(Array(frame.prefix(cut)), guePorts: [6080])
                let first = cut < 14 ? "frame: \(cut) bytes" : "eth "
                #expect(lines.first?.hasPrefix(first) == true, "\(name) cut at \(cut)")
            }
        }
    }

    @Test func truncatedEchoSaysSoInsteadOfTrapping() throws {
        for cut in 34...41 {
            let spec = "icmp 10.0.1.2 > 10.200.0.10 echo truncate=\(cut)"
            let lines = FrameDescriber.describe(try PacketSpec.parse(spec).frame())
            #expect(lines.count == 3, "\(spec): \(lines)")
            #expect(lines.last?.contains("proto 1, \(cut - 34) bytes") == true, "\(spec): \(lines)")
        }
    }

    @Test func tunnelsAndQuotesAreFollowed() throws {
        let described = try Self.frames().map { ($0.0, FrameDescriber.describe($0.1, guePorts: [6080])) }
        let all = described.flatMap(\.1)
        #expect(all.contains { $0.contains("ipv4 10.0.0.11 > 10.1.0.1") && $0.contains("proto 4") })
        #expect(all.contains { $0.contains("ipv6 fd00::11 > fd00:1::1") && $0.contains("next 41") })
        #expect(all.contains { $0.contains("udp") && $0.contains("> 6080") && $0.hasSuffix("(GUE)") })
        #expect(all.contains { $0.contains("quoting:") })
        #expect(all.contains { $0.contains("icmpv6 type 2 code 0") })
    }

    @Test func headerLengthBelowFiveWordsStops() throws {
        var frame = try PacketSpec.parse("tcp 10.0.1.2:40000 > 10.200.0.10:80 S").frame()
        frame[14] = 0x43 // version 4, IHL 3
        let lines = FrameDescriber.describe(frame)
        #expect(lines.last?.contains("header length 12 below 20") == true, "\(lines)")
    }

    @Test func innerHeadersStopAtTheOuterLength() throws {
        // An IPIP frame whose outer total length ends inside the inner header: Ethernet padding
        // past it must not be read as the inner packet.
        var frame = try PacketSpec.parse("tcp 10.0.1.2:40000 > 10.200.0.10:80 S pad=64").frame()
        frame[14 + 9] = IPProtocolNumber.ipip
        frame.setU16(30, at: 14 + 2)
        frame[34] = 0x45 // the TCP header now starts like an IPv4 header
        let lines = FrameDescriber.describe(frame)
        #expect(lines.last?.contains("ipv4: truncated or not IPv4") == true, "\(lines)")
    }
}
