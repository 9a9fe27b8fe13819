import Testing

import enum SwitchyardCore.IPAddress
import struct SwitchyardCore.IPv4Address
import struct SwitchyardCore.IPv6Address

@testable import SwitchyardKubernetes

@Suite struct AddressRangeTests {
    private func ip(_ text: String) -> IPAddress { IPAddress(text) ?? .v4(IPv4Address(0)) }

    @Test func parsesCIDRsAndRanges() throws {
        let v4 = try AddressRange(parsing: "10.0.0.0/24")
        #expect(v4.first == ip("10.0.0.0") && v4.last == ip("10.0.0.255") && v4.size == 256)
        let v6 = try AddressRange(parsing: "2001:db8::/120")
        #expect(v6.last == ip("2001:db8::ff") && v6.size == 256)
        let span = try AddressRange(parsing: " 192.0.2.100 - 192.0.2.110 ")
        #expect(span.size == 11 && span.contains(ip("192.0.2.105")) && !span.contains(ip("192.0.2.111")))
        #expect(try AddressRange(parsing: "2001:db8::/64").size == .max)
        #expect(try AddressRange(parsing: "::/0").size == .max)
        #expect(try AddressRange(parsing: "0.0.0.0/0").size == 1 << 32)
        #expect(try AddressRange(parsing: "8000::/1").size == .max)
    }

    @Test(arguments: [
        ("10.0.0.1/24", "host bits"), ("10.0.0.0/33", "0 to 32"), ("banana", "expected a CIDR"),
        ("10.0.0.9-10.0.0.1", "above the last"), ("10.0.0.1-2001:db8::1", "different families"),
        ("10.0.0.1-x", "\"x\" is not an IP address"), ("x/24", "not an IP address"),
    ])
    func rejectsBadEntriesSayingWhy(entry: String, reason: String) {
        #expect(throws: AddressRangeError.self) { try AddressRange(parsing: entry) }
        do {
            _ = try AddressRange(parsing: entry)
        } catch {
            #expect(error.entry == entry && error.reason.contains(reason), "\(error)")
        }
    }

    @Test func countsBuggyAddresses() throws {
        #expect(try AddressRange(parsing: "10.0.0.0/24").buggyAddressCount == 2)
        #expect(try AddressRange(parsing: "10.0.0.0/23").buggyAddressCount == 4)
        #expect(try AddressRange(parsing: "10.0.0.1-10.0.0.254").buggyAddressCount == 0)
        #expect(try AddressRange(parsing: "10.0.0.255-10.0.1.0").buggyAddressCount == 2)
        #expect(try AddressRange(parsing: "0.0.0.0/0").buggyAddressCount == 1 << 25)
    }

    @Test func poolsMergeOverlappingEntriesAndReportBadOnes() {
        let pool = PoolAddresses(entries: ["10.0.0.0/30", "10.0.0.2-10.0.0.5", "10.0.0.6/31", "nope", "2001:db8::/126"])
        #expect(pool.ranges.map(\.description) == ["10.0.0.0-10.0.0.7", "2001:db8::-2001:db8::3"])
        #expect(pool.errors.count == 1 && pool.errors.first?.entry == "nope")
        #expect(pool.capacity(.v4) == 8 && pool.capacity(.v6) == 4)
        #expect(PoolAddresses(entries: []).errors.count == 1)
        #expect(PoolAddresses(entries: ["10.0.0.0/24"], avoidBuggyIPs: true).capacity(.v4) == 254)
        #expect(PoolAddresses(entries: ["2001:db8::/64", "2001:db9::/64"]).capacity(.v6) == .max)
    }

    @Test func lowestFreeWalksOnlyTheTakenAddresses() {
        let pool = PoolAddresses(entries: ["10.0.0.254-10.0.1.2"], avoidBuggyIPs: true)
        #expect(pool.lowestFree(.v4, taken: []) == ip("10.0.0.254"))
        #expect(pool.lowestFree(.v4, taken: [ip("10.0.0.254")]) == ip("10.0.1.1"))
        #expect(pool.lowestFree(.v4, taken: [ip("10.0.0.254"), ip("10.0.1.1"), ip("10.0.1.2")]) == nil)
        #expect(pool.lowestFree(.v6, taken: []) == nil)
        #expect(!pool.offers(ip("10.0.1.0")) && pool.covers(ip("10.0.1.0")))
        let wide = PoolAddresses(entries: ["2001:db8::/64"])
        let taken = (0..<1000).map { IPAddress.v6(IPv6Address(high: 0x2001_0db8_0000_0000, low: UInt64($0))) }
        #expect(wide.lowestFree(.v6, taken: taken) == ip("2001:db8::3e8"))
        let full = PoolAddresses(entries: ["255.255.255.254/31"])
        #expect(full.lowestFree(.v4, taken: [ip("255.255.255.254"), ip("255.255.255.255")]) == nil)
        let top = PoolAddresses(entries: ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"])
        #expect(
            top.lowestFree(.v6, taken: [ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")])
                == ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
    }
}
