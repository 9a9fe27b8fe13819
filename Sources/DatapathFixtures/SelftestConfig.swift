import SwitchyardConfig
import SwitchyardCore

/// The tables random selftests run against when no config is given: every service option —
/// both families, IPIP, IPv6-in-IPv6, GUE both ways, sourceIP, stateful, weights, a draining
/// and a down backend, an empty service — and explicit MACs so no FIB answer is involved.
public enum SelftestConfig {
    public static let yaml = """
        node:
          name: selftest
          ipv4Source: 10.0.0.11
          ipv6Source: fd00::11
          mtu: 1500
          maglevTableSize: 1009
          sourceMAC: 02:00:00:00:00:11
          nextHopMAC: 02:00:00:00:00:fe
        services:
          - name: web
            vip: 10.200.0.10
            ports: [{port: 80}, {port: 443}]
            backends: [{address: 10.1.0.11, weight: 2}, {address: 10.1.0.12}, {address: 10.1.0.13, state: draining}, {address: 10.1.0.14, state: down}]
          - {name: dns, vip: 10.200.0.53, ports: [{port: 53, protocol: udp}], flowKey: sourceIP, encap: gue,
             backends: [{address: 10.1.0.21}, {address: "fd00:1::21"}]}
          - {name: web6, vip: "2001:db8:200::10", ports: [{port: 80}], mode: stateful,
             backends: [{address: "fd00:1::11"}, {address: "fd00:1::12"}]}
          - {name: web64, vip: "2001:db8:200::11", ports: [{port: 443}, {port: 53, protocol: udp}], encap: gue, flowKey: sourceIP,
             backends: [{address: 10.1.0.31}, {address: "fd00:1::31"}]}
          - {name: empty, vip: 10.200.0.20, ports: [{port: 80}], backends: []}
        """

    public static func config() -> SwitchyardConfig {
        try! ConfigLoader.parse(yaml: yaml, file: "selftest").get()
    }
}
