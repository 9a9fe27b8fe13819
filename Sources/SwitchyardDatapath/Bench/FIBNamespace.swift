import Foundation
import SwitchyardCore

/// A private network namespace in which `bpf_fib_lookup` answers for the bench's IPv4 backends.
/// Under BPF_PROG_TEST_RUN the helper asks the namespace of the calling thread, with `lo` as the
/// ingress device: so forwarding is switched on, a veth pair (both ends inside) carries the
/// node's address, 10.1.0.0/16 is routed via a gateway, and the gateway has a permanent
/// neighbour entry. Nothing is added to the host's namespace; the namespace goes with the object.
final class FIBNamespace {
    static let nodeAddress = IPv4Address(10, 0, 0, 11)
    static let gatewayMAC = MACAddress(bytes: [0x02, 0x00, 0x00, 0x00, 0xfe, 0x01])
    static let gateway = "10.0.0.254"
    private let namespace: NetworkNamespace

    init() throws {
        let ns = try NetworkNamespace(prefix: "sybench")
        let gateway = Self.gateway
        let mac = Self.gatewayMAC.bytes.map { String(format: "%02x", $0) }.joined(separator: ":")
        for argv in [
            ["ip", "link", "add", "syb0", "type", "veth", "peer", "name", "syb1"],
            ["ip", "link", "set", "syb0", "up"], ["ip", "link", "set", "syb1", "up"],
            ["ip", "addr", "add", "\(Self.nodeAddress)/24", "dev", "syb0"],
            ["ip", "neigh", "replace", gateway, "lladdr", mac, "dev", "syb0", "nud", "permanent"],
            ["ip", "route", "add", "10.1.0.0/16", "via", gateway, "dev", "syb0"],
            ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
        ] {
            try ns.exec(argv)
        }
        namespace = ns
    }

    /// Points the gateway's neighbour entry at another MAC (the next-hop cache tests).
    func setGatewayMAC(_ mac: MACAddress) throws {
        let text = mac.bytes.map { String(format: "%02x", $0) }.joined(separator: ":")
        _ = try namespace.exec([
            "ip", "neigh", "replace", Self.gateway, "lladdr", text, "dev", "syb0", "nud", "permanent",
        ])
    }

    /// Runs `body` on this thread inside the namespace (setns is per thread: keep it synchronous).
    func inside<T>(_ body: () throws -> T) throws -> T { try namespace.inside(body) }
}
