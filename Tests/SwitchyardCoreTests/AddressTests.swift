import Testing

@testable import SwitchyardCore

@Suite struct AddressTests {
    @Test(arguments: ["10.0.1.2", "0.0.0.0", "255.255.255.255", "192.0.2.1"])
    func ipv4RoundTrip(_ text: String) throws {
        let address = try #require(IPv4Address(text))
        #expect(address.description == text)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.-4", "1..2.3", "a.b.c.d", " 1.2.3.4"])
    func ipv4Rejects(_ text: String) {
        #expect(IPv4Address(text) == nil)
    }

    /// RFC 5952 §4 canonical forms.
    @Test(arguments: [
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:db8::0:1", "2001:db8::1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("::", "::"),
        ("::1", "::1"),
        ("fe80::", "fe80::"),
        ("::ffff:10.0.1.2", "::ffff:a00:102"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
    ])
    func ipv6Canonical(_ input: String, _ canonical: String) throws {
        let address = try #require(IPv6Address(input))
        #expect(address.description == canonical)
        #expect(IPv6Address(canonical) == address)
    }

    @Test(arguments: [
        "", ":", ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "g::1", "::1.2.3",
        "1:2:3:4:5:6:7::8:9",
    ])
    func ipv6Rejects(_ text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test func keyBytesPadIPv4() throws {
        let v4 = try #require(IPAddress("10.0.1.2"))
        #expect(v4.keyBytes == [10, 0, 1, 2] + [UInt8](repeating: 0, count: 12))
        let v6 = try #require(IPAddress("2001:db8::1"))
        #expect(v6.keyBytes == v6.bytes)
        #expect(v6.keyBytes.count == 16)
    }

    @Test func prefixes() throws {
        let p = try #require(IPPrefix("10.200.0.0/24"))
        #expect(p.contains(IPAddress("10.200.0.77")!))
        #expect(!p.contains(IPAddress("10.200.1.1")!))
        #expect(IPPrefix("10.200.0.1/24") == nil, "host bits set")
        #expect(IPPrefix("10.0.0.0/33") == nil)
        let p6 = try #require(IPPrefix("2001:db8:200::/48"))
        #expect(p6.contains(IPAddress("2001:db8:200:ffff::1")!))
        #expect(!p6.contains(IPAddress("2001:db8:201::1")!))
        #expect(!p6.contains(IPAddress("10.0.0.1")!))
        #expect(IPPrefix("2001:db8::1/64") == nil)
    }

    @Test func macAddresses() {
        #expect(MACAddress("02:00:00:00:00:0a")?.bytes == [2, 0, 0, 0, 0, 10])
        #expect(MACAddress("02:00:00:00:00") == nil)
        #expect(MACAddress("02:00:00:00:00:zz") == nil)
    }
}
