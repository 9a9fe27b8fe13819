import Foundation
import Testing

@testable import SwitchyardCore
@testable import SwitchyardStore

@Suite struct FlowRecordTests {
    static let flows = [
        FlowKey(
            source: IPAddress("10.0.1.2")!, destination: IPAddress("10.200.0.10")!, sourcePort: 40000,
            destinationPort: 80, proto: 6),
        FlowKey(
            source: IPAddress("2001:db8::2")!, destination: IPAddress("2001:db8:200::10")!, sourcePort: 0,
            destinationPort: 53, proto: 17),
    ]

    @Test(arguments: flows)
    func messageAndStoreKeyRoundTrip(_ flow: FlowKey) throws {
        let record = FlowRecord(service: "10.200.0.10:80/tcp", flow: flow, backend: "[fd00:1::11]:80", origin: "lb1")
        #expect(FlowRecord(message: record.message) == record)
        let fromStore = try #require(FlowRecord(storeKey: record.storeKey, backend: record.backend))
        #expect(fromStore.flow == flow && fromStore.service == record.service && fromStore.backend == record.backend)
        #expect(
            record.storeKey.hasPrefix("sy:f:") && !record.storeKey.contains("{"),
            "no hash tags: a cluster spreads flows")
    }

    @Test(arguments: [
        "", "a|b|c", "svc|zz|b|o", "svc|0102|b|o", "svc|" + String(repeating: "00", count: 40) + "|b|o",
        "a|b|c|d|e", "svc|" + String(repeating: "0", count: 79) + "|b|o",
        "svc|+f" + String(repeating: "00", count: 39) + "|b|o",
    ])
    func malformedMessagesAreRejected(_ message: String) {
        #expect(FlowRecord(message: message) == nil)
    }

    /// The byte-level codec against a plain reading of it: every byte value, both cases, and
    /// empty fields kept where they are.
    @Test func hexCodecIsExact() throws {
        let all = (0...255).map { UInt8($0) }
        let hex = FlowRecord.hex(all)
        #expect(hex == all.map { String(format: "%02x", $0) }.joined())
        #expect(FlowRecord.unhex(Substring(hex)) == all)
        #expect(FlowRecord.unhex(Substring(hex.uppercased())) == all)
        #expect(FlowRecord.unhex(Substring("0g")) == nil && FlowRecord.unhex(Substring("abc")) == nil)
        let record = FlowRecord(service: "", flow: Self.flows[0], backend: "", origin: "lb1")
        #expect(FlowRecord(message: record.message) == record)
    }

    @Test func flowKeyBytesRoundTrip() {
        for flow in Self.flows { #expect(FlowKey(bytes: flow.bytes) == flow) }
        #expect(FlowKey(bytes: [UInt8](repeating: 0, count: 39)) == nil)
    }
}
