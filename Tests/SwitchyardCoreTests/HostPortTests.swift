import Testing

@testable import SwitchyardCore

@Suite struct HostPortTests {
    @Test(
        arguments: [
            ("127.0.0.1:6379", HostPort.Host.address(.v4(IPv4Address(127, 0, 0, 1))), 6379, "127.0.0.1:6379"),
            ("[::1]:6379", .address(.v6(IPv6Address(high: 0, low: 1))), 6379, "[::1]:6379"),
            (
                "[2001:DB8:0:0:0:0:0:1]:80", .address(.v6(IPv6Address(high: 0x2001_0db8_0000_0000, low: 1))), 80,
                "[2001:db8::1]:80"
            ),
            (
                "[::ffff:10.0.1.2]:1", .address(.v6(IPv6Address(high: 0, low: 0xffff_0a00_0102))), 1,
                "[::ffff:a00:102]:1"
            ),
            ("redis:6379", .name("redis"), 6379, "redis:6379"),
            ("redis-1.flows.example:65535", .name("redis-1.flows.example"), 65535, "redis-1.flows.example:65535"),
            ("redis_1:7000", .name("redis_1"), 7000, "redis_1:7000"),
            ("localhost:080", .name("localhost"), 80, "localhost:80"),
        ] as [(String, HostPort.Host, UInt16, String)])
    func parsesEveryForm(_ text: String, _ host: HostPort.Host, _ port: UInt16, _ canonical: String) throws {
        let parsed = try HostPort(parsing: text)
        #expect(parsed.host == host)
        #expect(parsed.port == port)
        #expect(parsed.description == canonical)
        #expect(try HostPort(parsing: parsed.description) == parsed, "description must read back")
    }

    @Test(
        arguments: [
            ("2001:db8::1:6379", HostPort.ParseError.unbracketedIPv6("2001:db8::1:6379")),
            ("::1:80", .unbracketedIPv6("::1:80")),
            ("127.0.0.1", .missingPort("127.0.0.1")),
            ("[::1]", .missingPort("[::1]")),
            ("redis", .missingPort("redis")),
            ("127.0.0.1:0", .invalidPort("127.0.0.1:0")),
            ("127.0.0.1:65536", .invalidPort("127.0.0.1:65536")),
            ("127.0.0.1:", .invalidPort("127.0.0.1:")),
            ("redis:+80", .invalidPort("redis:+80")),
            ("redis:80x", .invalidPort("redis:80x")),
            ("redis:123456", .invalidPort("redis:123456")),
            (":6379", .emptyHost(":6379")),
            ("[]:6379", .emptyHost("[]:6379")),
            ("[10.0.0.1]:80", .invalidHost("[10.0.0.1]:80")),
            ("[fe80::1%eth0]:80", .invalidHost("[fe80::1%eth0]:80")),
            ("[::1:80", .invalidHost("[::1:80")),
            ("[::1]x:80", .invalidHost("[::1]x:80")),
            ("1.2.3:80", .invalidHost("1.2.3:80")),
            ("256.1.1.1:80", .invalidHost("256.1.1.1:80")),
            ("re dis:80", .invalidHost("re dis:80")),
            ("-redis:80", .invalidHost("-redis:80")),
            ("redis..local:80", .invalidHost("redis..local:80")),
            ("rédis:80", .invalidHost("rédis:80")),
            ("", .missingPort("")),
        ] as [(String, HostPort.ParseError)])
    func rejectsWithAReason(_ text: String, _ error: HostPort.ParseError) {
        #expect(throws: error) { try HostPort(parsing: text) }
        #expect(HostPort(text) == nil)
    }

    @Test func namesHaveBoundedLabels() {
        let label = String(repeating: "a", count: HostPort.maxLabelLength)
        #expect(HostPort("\(label).example:1") != nil)
        #expect(HostPort("\(label)a.example:1") == nil)
        let long = Array(repeating: String(repeating: "b", count: 49), count: 6).joined(separator: ".")
        #expect(long.utf8.count > HostPort.maxNameLength)
        #expect(HostPort("\(long):1") == nil)
    }

    /// Settings hold the host and port apart, IPv6 without brackets.
    @Test func fromHostAndPort() throws {
        #expect(try HostPort(host: "::1", port: 6379).description == "[::1]:6379")
        #expect(try HostPort(host: "10.0.0.7", port: 6379).description == "10.0.0.7:6379")
        #expect(try HostPort(host: "redis", port: 1).host == .name("redis"))
        #expect(throws: HostPort.ParseError.emptyHost(":6379")) { try HostPort(host: "", port: 6379) }
        #expect(throws: HostPort.ParseError.invalidPort("redis:0")) { try HostPort(host: "redis", port: 0) }
        #expect(throws: HostPort.ParseError.invalidPort("redis:70000")) { try HostPort(host: "redis", port: 70000) }
        #expect(throws: HostPort.ParseError.invalidPort("redis:-1")) { try HostPort(host: "redis", port: -1) }
        #expect(throws: HostPort.ParseError.invalidHost("[[::1]]:1")) { try HostPort(host: "[::1]", port: 1) }
        #expect(throws: HostPort.ParseError.invalidHost("1.2.3:1")) { try HostPort(host: "1.2.3", port: 1) }
    }

    @Test func errorsSayWhatToWrite() {
        #expect("\(HostPort.ParseError.unbracketedIPv6("::1:80"))".contains("[ADDRESS]:PORT"))
        #expect("\(HostPort.ParseError.invalidPort("a:0"))".contains("1 to 65535"))
    }
}
