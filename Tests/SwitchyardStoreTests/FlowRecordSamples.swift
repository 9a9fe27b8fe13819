import SwitchyardCore

/// Entry `i` of a service's flows: a distinct client address and port per `i`, one key per
/// entry (so the entries of a cluster test spread over its slots).
func record(_ i: Int, backend: String = "10.0.0.1:80") -> FlowRecord {
    FlowRecord(
        service: "10.1.0.1:80/tcp",
        flow: FlowKey(
            source: .v4(IPv4Address(UInt32(0x0a00_0000 + i))), destination: .v4(IPv4Address(10, 1, 0, 1)),
            sourcePort: UInt16(1000 + i % 60000), destinationPort: 80, proto: 6),
        backend: backend, origin: "lb1")
}
