import SwitchyardCore

/// The one-line packet notation of `switchyard trace --packet` and the fixture files:
///
///     tcp 10.0.1.2:40000 > 10.200.0.10:80 S len=100
///     udp [2001:db8::2]:5353 > [2001:db8:200::10]:53
///     icmp 192.0.2.1 > 10.200.0.10 frag-needed mtu=1400 quote="tcp 10.200.0.10:80 > 10.0.1.2:40000 A"
///
/// TCP flags are letters (S A F R P U E C, or `.` for none). Options: `len=N` (payload bytes),
/// `ttl=N`, `tos=N`, `id=N`, `nodf`, `mf`, `fragoff=N`, `ipopts=N`, `ext=hbh,dst,rt,frag`,
/// `flowlabel=N`, `quote="…"`, `quotelen=N`, `mtu=N`; damage: `truncate=N`, `pad=N`,
/// `poke=OFFSET:HEX` (repeatable).
public enum PacketSpec {
    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public let message: String
        public var description: String { message }
    }

    static let icmpTypes: [String: (v4: (UInt8, UInt8), v6: (UInt8, UInt8))] = [
        "echo": ((8, 0), (128, 0)),
        "echo-reply": ((0, 0), (129, 0)),
        "unreach": ((3, 1), (1, 3)),
        "port-unreach": ((3, 3), (1, 4)),
        "frag-needed": ((3, 4), (2, 0)),
        "toobig": ((3, 4), (2, 0)),
        "time-exceeded": ((11, 0), (3, 0)),
        "param-problem": ((12, 0), (4, 0)),
    ]

    /// Four more than the datapath skips (SY_IPV6_MAX_EXT_HEADERS), enough to test its limit, and
    /// few enough that the IPv6 payload length (16 bits) always holds the packet.
    public static let maxExtensionHeaders = 8

    public static func parse(_ text: String) throws(ParseError) -> PacketDescription {
        let tokens = try tokenize(text)
        guard tokens.count >= 4, tokens[2] == ">" else {
            throw ParseError(message: "expected 'PROTO SRC > DST …', e.g. 'tcp 10.0.1.2:40000 > 10.200.0.10:80 S'")
        }
        let proto = tokens[0].lowercased()
        var rest = Array(tokens.dropFirst(4))
        var packet: PacketDescription

        switch proto {
        case "tcp", "udp":
            let (source, sport) = try endpoint(tokens[1])
            let (destination, dport) = try endpoint(tokens[3])
            guard source.family == destination.family else {
                throw ParseError(message: "source \(source) and destination \(destination) are of different families")
            }
            if proto == "tcp" {
                var flags: UInt8 = 0
                if let first = rest.first, let parsed = tcpFlags(first) {
                    flags = parsed
                    rest.removeFirst()
                }
                packet = PacketDescription(
                    source: source, destination: destination,
                    transport: .tcp(sourcePort: sport, destinationPort: dport, flags: flags))
            } else {
                packet = PacketDescription(
                    source: source, destination: destination,
                    transport: .udp(sourcePort: sport, destinationPort: dport))
            }
        case "icmp", "icmp6":
            guard let source = IPAddress(tokens[1]), let destination = IPAddress(tokens[3]) else {
                throw ParseError(message: "icmp takes bare addresses: 'icmp SRC > DST TYPE'")
            }
            guard source.family == destination.family else {
                throw ParseError(message: "source \(source) and destination \(destination) are of different families")
            }
            guard let typeName = rest.first else {
                throw ParseError(
                    message: "icmp needs a type: \(icmpTypes.keys.sorted().joined(separator: ", ")) or TYPE/CODE")
            }
            rest.removeFirst()
            let (type, code) = try icmpType(typeName, v6: source.family == .v6)
            packet = PacketDescription(
                source: source, destination: destination,
                transport: .icmp(type: type, code: code, rest: 0, quote: nil))
        default:
            throw ParseError(message: "unknown protocol '\(tokens[0])'; expected tcp, udp or icmp")
        }

        var quoteText: String?
        var quoteLength: Int?
        var mtu: UInt32?
        for option in rest {
            let (key, value) = option.split(separator: "=", maxSplits: 1).map(String.init).pairOrKey
            func number(_ range: ClosedRange<Int>) throws(ParseError) -> Int {
                guard let value, let n = Int(value), range.contains(n) else {
                    throw ParseError(
                        message:
                            "option '\(option)': expected \(key)=N with N from \(range.lowerBound) to \(range.upperBound)"
                    )
                }
                return n
            }
            switch key {
            case "len": packet.payloadLength = try number(0...9000)
            case "ttl": packet.ttl = UInt8(try number(0...255))
            case "tos": packet.tos = UInt8(try number(0...255))
            case "id": packet.ipID = UInt16(try number(0...65535))
            case "nodf": packet.dontFragment = false
            case "mf": packet.moreFragments = true
            case "fragoff": packet.fragmentOffset = UInt16(try number(0...8191))
            case "ipopts":
                let n = try number(0...40)
                guard n % 4 == 0 else {
                    throw ParseError(message: "option '\(option)': IPv4 options come in 4-byte words")
                }
                packet.ipv4OptionsLength = n
            case "flowlabel": packet.flowLabel = UInt32(try number(0...0xfffff))
            case "ext":
                let names: [String: UInt8] = ["hbh": 0, "dst": 60, "rt": 43, "frag": 44]
                let list = (value ?? "").split(separator: ",")
                guard list.count <= maxExtensionHeaders else {
                    throw ParseError(
                        message: "option '\(option.prefix(40))…': "
                            + "at most \(maxExtensionHeaders) extension headers")
                }
                packet.ipv6Extensions = try list.map { name throws(ParseError) -> UInt8 in
                    guard let n = names[String(name)] else {
                        throw ParseError(
                            message: "option '\(option)': unknown extension '\(name)'; expected hbh, dst, rt, frag")
                    }
                    return n
                }
            case "quote": quoteText = value
            case "quotelen": quoteLength = try number(0...9000)
            case "mtu": mtu = UInt32(try number(0...65535))
            case "truncate": packet.mutations.append(.truncate(try number(0...65535)))
            case "pad": packet.mutations.append(.pad(try number(0...9000)))
            case "poke":
                let parts = (value ?? "").split(separator: ":")
                guard parts.count == 2, let offset = Int(parts[0]), (0...65535).contains(offset),
                    let bytes = [UInt8](hex: parts[1])
                else {
                    throw ParseError(
                        message: "option '\(option)': expected poke=OFFSET:HEXBYTES, "
                            + "OFFSET from 0 to 65535")
                }
                packet.mutations.append(.poke(offset: offset, bytes: bytes))
            default:
                throw ParseError(message: "unknown option '\(option)'")
            }
        }

        if case .icmp(let type, let code, _, _) = packet.transport {
            var quote: PacketDescription.Quote?
            if let quoteText { quote = .init(packet: try parse(quoteText), length: quoteLength) }
            // "Fragmentation needed" carries the MTU in the low half of the word (RFC 1191);
            // "packet too big" in all of it (RFC 4443 §3.2).
            packet.transport = .icmp(type: type, code: code, rest: mtu ?? 0, quote: quote)
        } else if quoteText != nil || mtu != nil {
            throw ParseError(message: "quote= and mtu= apply to icmp packets only")
        }
        return packet
    }

    static func tcpFlags(_ token: String) -> UInt8? {
        if token == "." { return 0 }
        let bits: [Character: UInt8] = [
            "F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20, "E": 0x40, "C": 0x80,
        ]
        var flags: UInt8 = 0
        for letter in token {
            guard let bit = bits[letter] else { return nil }
            flags |= bit
        }
        return flags
    }

    static func icmpType(_ name: String, v6: Bool) throws(ParseError) -> (UInt8, UInt8) {
        if let known = icmpTypes[name] { return v6 ? known.v6 : known.v4 }
        let parts = name.split(separator: "/")
        if parts.count == 2, let type = UInt8(parts[0]), let code = UInt8(parts[1]) { return (type, code) }
        throw ParseError(
            message:
                "unknown icmp type '\(name)'; expected \(icmpTypes.keys.sorted().joined(separator: ", ")) or TYPE/CODE")
    }

    /// `10.0.1.2:40000` or `[2001:db8::2]:40000`.
    static func endpoint(_ token: String) throws(ParseError) -> (IPAddress, UInt16) {
        var address: Substring
        var port: Substring
        if token.hasPrefix("[") {
            guard let close = token.firstIndex(of: "]"), token[token.index(after: close)...].hasPrefix(":") else {
                throw ParseError(message: "'\(token)': expected [IPV6]:PORT")
            }
            address = token[token.index(after: token.startIndex)..<close]
            port = token[token.index(close, offsetBy: 2)...]
        } else {
            guard let colon = token.lastIndex(of: ":"), !token[..<colon].contains(":") else {
                throw ParseError(message: "'\(token)': expected ADDR:PORT (IPv6 as [ADDR]:PORT)")
            }
            address = token[..<colon]
            port = token[token.index(after: colon)...]
        }
        guard let ip = IPAddress(address) else { throw ParseError(message: "'\(address)' is not an IP address") }
        guard let p = UInt16(port) else { throw ParseError(message: "'\(port)' is not a port (0-65535)") }
        return (ip, p)
    }

    /// Splits on spaces; `key="a b c"` keeps its quoted value whole.
    static func tokenize(_ text: String) throws(ParseError) -> [String] {
        var tokens: [String] = []
        var current = ""
        var quoted = false
        for char in text {
            if char == "\"" {
                quoted.toggle()
                continue
            }
            if char == " " && !quoted {
                if !current.isEmpty {
                    tokens.append(current)
                    current = ""
                }
            } else {
                current.append(char)
            }
        }
        guard !quoted else { throw ParseError(message: "unterminated quote in '\(text)'") }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }
}

extension Array where Element == String {
    fileprivate var pairOrKey: (String, String?) { (self.first ?? "", count > 1 ? self[1] : nil) }
}
