import DatapathModel
import SwitchyardABI
import SwitchyardCore

/// Checks a pipeline result against a fixture's expectation, independently of how the pipeline
/// computed it: the output frame is re-parsed and every header field, length and checksum is
/// verified from first principles. Returns what is wrong (empty when all holds).
public enum FixtureCheck {
    public static func check(
        _ fixture: PipelineFixture, input: [UInt8], tables: DatapathTables,
        result: PipelineResult
    ) -> [String] {
        var problems: [String] = []
        let e = fixture.expect
        switch (e.verdict, result.verdict) {
        case ("pass", .pass), ("tx", .tx): break
        case ("drop", .drop(let reason)):
            if let expected = e.reason, reason.name != expected {
                problems.append("drop reason \(reason.name), expected \(expected)")
            }
        default: problems.append("verdict \(result.verdict), expected \(e.verdict)\(e.reason.map { " (\($0))" } ?? "")")
        }
        if let expected = e.backend {
            let actual = result.decision?.backend.flatMap { tables.backendNames[$0] } ?? "none"
            if actual != expected { problems.append("backend \(actual), expected \(expected)") }
        }
        if let expected = e.flow, result.decision?.flow?.rawValue != expected {
            problems.append("flow outcome \(result.decision?.flow?.rawValue ?? "none"), expected \(expected)")
        }
        if case .tx(let output) = result.verdict {
            if let proto = e.outerProto {
                problems += encapsulation(
                    output, input: input, proto: proto, guePort: e.guePort, tables: tables, result: result)
            } else if let icmp = e.icmp {
                problems += tooBig(output, input: input, type: icmp.type, code: icmp.code, mtu: icmp.mtu)
            } else if e.echoReply {
                problems += echoReply(output, input: input)
            } else {
                problems.append("tx expected, but the fixture says neither outer, icmp nor echo")
            }
        }
        problems += counters(fixture, frameLength: input.count, tables: tables, actual: result.counters)
        return problems
    }

    static func encapsulation(
        _ out: [UInt8], input: [UInt8], proto: UInt8, guePort: UInt16?, tables: DatapathTables,
        result: PipelineResult
    ) -> [String] {
        var p: [String] = []
        guard let index = result.decision?.backend, let backend = tables.backends[index]?.address else {
            return ["tx without a chosen backend"]
        }
        let node = tables.node
        let expectedMACs =
            node.sourceMAC != nil && node.nextHopMAC != nil
            ? node.nextHopMAC!.bytes + node.sourceMAC!.bytes
            : Array(input[6..<12]) + Array(input[0..<6])
        if Array(out.prefix(12)) != expectedMACs {
            p.append("output MACs \(Array(out.prefix(12)).hexString), expected \(expectedMACs.hexString)")
        }
        let innerLength: Int = input.u16(at: 12) == 0x0800 ? Int(input.u16(at: 16)) : 40 + Int(input.u16(at: 18))
        let gue = proto == IPProtocolNumber.udp
        let outerIP = backend.family == .v4 ? 20 : 40
        let headerLength = 14 + outerIP + (gue ? 8 : 0)
        guard out.count == input.count + headerLength - 14 else {
            return p + ["output is \(out.count) bytes, expected \(input.count + headerLength - 14)"]
        }
        switch backend {
        case .v4(let address):
            if out.u16(at: 12) != 0x0800 {
                p.append("outer EtherType 0x\(String(out.u16(at: 12), radix: 16)), expected IPv4")
            }
            if out[14] != 0x45 { p.append("outer version/IHL 0x\(String(out[14], radix: 16))") }
            if Int(out.u16(at: 16)) != innerLength + outerIP + (gue ? 8 : 0) {
                p.append("outer total length \(out.u16(at: 16))")
            }
            if out[22] != 64 { p.append("outer TTL \(out[22])") }
            if out[23] != proto { p.append("outer protocol \(out[23]), expected \(proto)") }
            if InternetChecksum.ipv4Header(out, at: 14, length: 20) != 0 {
                p.append("outer IPv4 checksum does not verify")
            }
            if out.u32(at: 26) != node.ipv4Source?.value { p.append("outer source \(IPv4Address(out.u32(at: 26)))") }
            if out.u32(at: 30) != address.value {
                p.append("outer destination \(IPv4Address(out.u32(at: 30))), expected \(address)")
            }
            let innerV4 = input.u16(at: 12) == 0x0800
            let innerDF = innerV4 ? input.u16(at: 20) & 0x4000 != 0 : true
            if (out.u16(at: 20) & 0x4000 != 0) != innerDF { p.append("outer DF does not follow the inner packet") }
            if innerV4 && out.u16(at: 18) != input.u16(at: 18) { p.append("outer IPv4 ID is not the inner one") }
        case .v6(let address):
            if out.u16(at: 12) != 0x86dd {
                p.append("outer EtherType 0x\(String(out.u16(at: 12), radix: 16)), expected IPv6")
            }
            if out[14] >> 4 != 6 { p.append("outer version \(out[14] >> 4)") }
            if Int(out.u16(at: 18)) != innerLength + (gue ? 8 : 0) {
                p.append("outer payload length \(out.u16(at: 18))")
            }
            if out[20] != proto { p.append("outer next header \(out[20]), expected \(proto)") }
            if out[21] != 64 { p.append("outer hop limit \(out[21])") }
            if Array(out[22..<38]) != node.ipv6Source?.bytes { p.append("outer source is not the node's") }
            if Array(out[38..<54]) != address.bytes { p.append("outer destination is not \(address)") }
            if let hash = result.decision?.flowHash,
                out.u32(at: 14) & 0xfffff != UInt32(truncatingIfNeeded: hash) & 0xfffff
            {
                p.append("outer flow label is not the flow hash's low 20 bits")
            }
        }
        if gue {
            let udp = 14 + outerIP
            if let guePort, out.u16(at: udp + 2) != guePort {
                p.append("GUE port \(out.u16(at: udp + 2)), expected \(guePort)")
            }
            if out.u16(at: udp) & 0xc000 != 0xc000 {
                p.append("GUE source port \(out.u16(at: udp)) outside 0xc000-0xffff")
            }
            if let hash = result.decision?.flowHash,
                out.u16(at: udp) != 0xc000 | UInt16(truncatingIfNeeded: hash) & 0x3fff
            {
                p.append("GUE source port does not carry the flow hash")
            }
            if Int(out.u16(at: udp + 4)) != 8 + innerLength { p.append("UDP length \(out.u16(at: udp + 4))") }
            if out.u16(at: udp + 6) != 0 { p.append("UDP checksum \(out.u16(at: udp + 6)), expected 0 (RFC 6935)") }
        }
        if Array(out[headerLength...]) != Array(input[14...]) { p.append("inner packet was altered") }
        return p
    }

    static func tooBig(_ out: [UInt8], input: [UInt8], type: UInt8, code: UInt8, mtu: Int) -> [String] {
        var p: [String] = []
        if Array(out[0..<6]) != Array(input[6..<12]) || Array(out[6..<12]) != Array(input[0..<6]) {
            p.append("reply MACs are not the input's swapped")
        }
        let v4 = input.u16(at: 12) == 0x0800
        let l4 = v4 ? 34 : 54
        let innerLength = v4 ? Int(input.u16(at: 16)) : 40 + Int(input.u16(at: 18))
        let quote = min(innerLength, v4 ? Int(SY_ICMP4_TOO_BIG_QUOTE) : Int(SY_ICMP6_TOO_BIG_QUOTE))
        guard out.count == l4 + 8 + quote else {
            return p + ["reply is \(out.count) bytes, expected \(l4 + 8 + quote)"]
        }
        if v4 {
            if InternetChecksum.ipv4Header(out, at: 14, length: 20) != 0 {
                p.append("reply IPv4 checksum does not verify")
            }
            if out[23] != 1 { p.append("reply protocol \(out[23])") }
            if Array(out[26..<30]) != Array(input[30..<34]) || Array(out[30..<34]) != Array(input[26..<30]) {
                p.append("reply addresses are not the input's swapped")
            }
            if Int(out.u16(at: 16)) != 28 + quote { p.append("reply total length \(out.u16(at: 16))") }
            var sum = InternetChecksum()
            sum.add(out, l4..<out.count)
            if sum.value != 0 { p.append("ICMP checksum does not verify") }
            if Int(out.u16(at: l4 + 6)) != mtu { p.append("next-hop MTU \(out.u16(at: l4 + 6)), expected \(mtu)") }
        } else {
            if out[20] != 58 { p.append("reply next header \(out[20])") }
            if Array(out[22..<38]) != Array(input[38..<54]) || Array(out[38..<54]) != Array(input[22..<38]) {
                p.append("reply addresses are not the input's swapped")
            }
            let src = IPAddress.read(.v6, from: out, at: 22)
            let dst = IPAddress.read(.v6, from: out, at: 38)
            if InternetChecksum.transport(out, at: l4, length: out.count - l4, proto: 58, source: src, destination: dst)
                != 0
            {
                p.append("ICMPv6 checksum does not verify")
            }
            if Int(out.u32(at: l4 + 4)) != mtu { p.append("MTU \(out.u32(at: l4 + 4)), expected \(mtu)") }
        }
        if out[l4] != type || out[l4 + 1] != code {
            p.append("ICMP type/code \(out[l4])/\(out[l4 + 1]), expected \(type)/\(code)")
        }
        if Array(out[(l4 + 8)...]) != Array(input[14..<14 + quote]) { p.append("quote is not the start of the packet") }
        return p
    }

    /// The reply to an echo request (no IPv4 options / IPv6 extension headers): same length,
    /// MACs and addresses swapped, TTL / hop limit 64, type 0 / 129, checksums that verify, and
    /// everything else — IPv4 ID and TOS, identifier, sequence, data, padding — unchanged.
    static func echoReply(_ out: [UInt8], input: [UInt8]) -> [String] {
        var p: [String] = []
        guard out.count == input.count else { return ["reply is \(out.count) bytes, expected \(input.count)"] }
        if Array(out[0..<6]) != Array(input[6..<12]) || Array(out[6..<12]) != Array(input[0..<6]) {
            p.append("reply MACs are not the input's swapped")
        }
        let v4 = input.u16(at: 12) == 0x0800
        let l4 = v4 ? 34 : 54
        let size = v4 ? 4 : 16
        let source = v4 ? 26 : 22
        let destination = source + size
        if Array(out[source..<source + size]) != Array(input[destination..<destination + size])
            || Array(out[destination..<destination + size]) != Array(input[source..<source + size])
        {
            p.append("reply addresses are not the input's swapped")
        }
        let ipEnd = v4 ? 14 + Int(input.u16(at: 16)) : 54 + Int(input.u16(at: 18))
        if v4 {
            if out[22] != 64 { p.append("reply TTL \(out[22])") }
            if InternetChecksum.ipv4Header(out, at: 14, length: 20) != 0 {
                p.append("reply IPv4 checksum does not verify")
            }
            if Array(out[14..<22]) != Array(input[14..<22]) || out[23] != input[23] {
                p.append("reply IPv4 header changed beyond addresses, TTL and checksum")
            }
            var sum = InternetChecksum()
            sum.add(out, l4..<ipEnd)
            if sum.value != 0 { p.append("ICMP checksum does not verify") }
            if out[l4] != 0 { p.append("ICMP type \(out[l4]), expected 0 (echo reply)") }
        } else {
            if out[21] != 64 { p.append("reply hop limit \(out[21])") }
            if Array(out[14..<21]) != Array(input[14..<21]) {
                p.append("reply IPv6 header changed beyond addresses and hop limit")
            }
            let src = IPAddress.read(.v6, from: out, at: 22)
            let dst = IPAddress.read(.v6, from: out, at: 38)
            if InternetChecksum.transport(out, at: l4, length: ipEnd - l4, proto: 58, source: src, destination: dst)
                != 0
            {
                p.append("ICMPv6 checksum does not verify")
            }
            if out[l4] != 129 { p.append("ICMPv6 type \(out[l4]), expected 129 (echo reply)") }
        }
        if out[l4 + 1] != 0 { p.append("ICMP code \(out[l4 + 1])") }
        if Array(out[(l4 + 4)...]) != Array(input[(l4 + 4)...]) { p.append("identifier, sequence or data changed") }
        return p
    }

    static func counters(_ fixture: PipelineFixture, frameLength: Int, tables: DatapathTables, actual: CounterDelta)
        -> [String]
    {
        var expected = CounterDelta()
        var p: [String] = []
        for (name, fields) in fixture.expect.counters {
            let parts = name.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                p.append("counter name '\(name)'")
                continue
            }
            switch parts[0] {
            case "service":
                guard let id = tables.serviceID(named: parts[1]) else {
                    p.append("no service '\(parts[1])'")
                    continue
                }
                let packets = fields["packets"] ?? 0
                expected.services[id] = .init(
                    packets: packets, bytes: packets * UInt64(frameLength),
                    newFlows: fields["newFlows"] ?? 0, tooBig: fields["tooBig"] ?? 0)
            case "backend":
                guard let id = tables.backendNames.first(where: { $0.value == parts[1] })?.key else {
                    p.append("no backend '\(parts[1])'")
                    continue
                }
                let packets = fields["packets"] ?? 0
                expected.backends[id] = .init(
                    packets: packets, bytes: packets * UInt64(frameLength), newFlows: fields["newFlows"] ?? 0)
            case "drop":
                guard let reason = DropReason(name: parts[1]) else {
                    p.append("no drop reason '\(parts[1])'")
                    continue
                }
                expected.drops[reason] = fields["count"] ?? 0
            default: p.append("counter name '\(name)'")
            }
        }
        if expected != actual {
            p.append("counters \(describe(actual, tables)), expected \(describe(expected, tables))")
        }
        return p
    }

    public static func describe(_ c: CounterDelta, _ tables: DatapathTables) -> String {
        var parts: [String] = []
        for (id, s) in c.services.sorted(by: { $0.key < $1.key }) {
            parts.append(
                "service \(tables.serviceNames[id] ?? "#\(id)") {packets \(s.packets), bytes \(s.bytes), newFlows \(s.newFlows), tooBig \(s.tooBig)}"
            )
        }
        for (id, b) in c.backends.sorted(by: { $0.key < $1.key }) {
            parts.append(
                "backend \(tables.backendNames[id] ?? "#\(id)") {packets \(b.packets), bytes \(b.bytes), newFlows \(b.newFlows)}"
            )
        }
        for (reason, n) in c.drops.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            parts.append("drop \(reason.name) \(n)")
        }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}
