import Testing

@testable import SwitchyardCore

/// One rule broken on purpose: the edit applied to a valid spec, the field that must be blamed
/// and words the message must contain.
struct BrokenRule: Sendable, CustomTestStringConvertible {
    let path: String
    let message: String
    let firstAt: String?
    let edit: @Sendable (inout ConfigSpec) -> Void

    init(
        _ path: String, _ message: String, firstAt: String? = nil,
        _ edit: @escaping @Sendable (inout ConfigSpec) -> Void
    ) {
        self.path = path
        self.message = message
        self.firstAt = firstAt
        self.edit = edit
    }

    var testDescription: String { "\(path): \(message)" }
}

/// Edits of `node.bgp`: a valid one (`ConfigValidationTests.bgp`) is put in place, then edited.
enum BGPEdit {
    static func bgp(_ spec: inout ConfigSpec, _ edit: (inout BGPSpec) -> Void) {
        var bgp = ConfigValidationTests.bgp
        edit(&bgp)
        spec.node?.bgp = bgp
    }

    /// Edits the one peer.
    static func peer(_ spec: inout ConfigSpec, _ edit: (inout BGPPeerSpec) -> Void) {
        bgp(&spec) { bgp in
            if var peer = bgp.peers?.first {
                edit(&peer)
                bgp.peers = [peer]
            }
        }
    }
}

@Suite struct ConfigValidationTests {
    /// Valid: one IPv4 service with two backends, sources for both families.
    static let valid = ConfigSpec(
        node: NodeSpec(name: "lb1", ipv4Source: "10.0.0.11", ipv6Source: "fd00::11"),
        services: [
            ServiceSpec(
                name: "web", vip: "10.200.0.10", ports: [PortSpec(port: 80)],
                backends: [
                    BackendSpec(address: "10.1.0.11"),
                    BackendSpec(address: "10.1.0.12", weight: 2),
                ])
        ])

    /// A valid `node.bgp`: one peer, everything else defaulted.
    static let bgp = BGPSpec(asn: 65001, peers: [BGPPeerSpec(address: "10.0.0.1", asn: 65000)])

    static let web6 = ServiceSpec(
        name: "web6", vip: "2001:db8::10", ports: [PortSpec(port: 80)], backends: [BackendSpec(address: "fd00:1::11")])

    static let dnsOverGUE = ServiceSpec(
        name: "dns", vip: "10.200.0.53", ports: [PortSpec(port: 53, protocol: "udp")],
        encap: "gue", backends: [BackendSpec(address: "10.1.0.11")])

    static func problems(_ spec: ConfigSpec) -> [ConfigProblem] {
        switch ConfigValidation.validate(spec) {
        case .success: []
        case .failure(let failure): failure.problems
        }
    }

    @Test func validSpecGetsTheDefaults() throws {
        let config = try ConfigValidation.validate(Self.valid).get()
        #expect(config.node.mtu == NodeSettings.defaultMTU && config.node.maglevTableSize == 65537)
        let service = try #require(config.services.first)
        let vip = try #require(IPAddress("10.200.0.10"))
        #expect(service.name == "web" && service.key == ServiceKey(vip: vip, port: 80, proto: .tcp))
        #expect(service.mode == .stateless && service.flowKey == .connection && service.encap == .ipip)
        #expect(service.backends.map(\.weight) == [1, 2])
        #expect(service.backends.allSatisfy { $0.port == 80 && $0.state == .up })
    }

    @Test func eachPortIsAService() throws {
        var spec = Self.valid
        spec.services?[0].ports = [PortSpec(port: 80), PortSpec(port: 53, protocol: "udp")]
        spec.services?[0].backends = [BackendSpec(address: "10.1.0.11"), BackendSpec(address: "10.1.0.12", port: 8080)]
        let config = try ConfigValidation.validate(spec).get()
        #expect(config.services.map(\.name) == ["web/80/tcp", "web/53/udp"])
        #expect(config.services[1].backends.map(\.port) == [53, 8080], "a backend port defaults to each service port")
    }

    @Test(arguments: [
        BrokenRule("node", "required") { $0.node = nil },
        BrokenRule("services", "required") { $0.services = nil },
        BrokenRule("node.name", "required") { $0.node?.name = nil },
        BrokenRule("node.name", "non-empty") { $0.node?.name = "" },
        BrokenRule("node.ipv4Source", "an IPv4 address") { $0.node?.ipv4Source = "fd00::11" },
        BrokenRule("node.ipv6Source", "an IPv6 address") { $0.node?.ipv6Source = "10.0.0.11" },
        BrokenRule("node.mtu", "from 1280 to 9216, got 1279") { $0.node?.mtu = 1279 },
        BrokenRule("node.mtu", "from 1280 to 9216") { $0.node?.mtu = 9217 },
        BrokenRule("node.maglevTableSize", "a prime") { $0.node?.maglevTableSize = 65536 },
        BrokenRule("node.maglevTableSize", "a prime from 251") { $0.node?.maglevTableSize = 241 },
        BrokenRule("node.flowTableCapacity", "from 1024") { $0.node?.flowTableCapacity = 1000 },
        BrokenRule("node.newFlowRatePerCPU", "from 0") { $0.node?.newFlowRatePerCPU = -1 },
        BrokenRule("node.flowEvictIdleSeconds", "seconds from 0 to 3600") { $0.node?.flowEvictIdleSeconds = 3601 },
        BrokenRule("node.pinDirectory", "an absolute path") { $0.node?.pinDirectory = "bpf/switchyard" },
        BrokenRule("node.stateDirectory", "an absolute path") { $0.node?.stateDirectory = "state" },
        BrokenRule("node.adminSocket", "an absolute path") { $0.node?.adminSocket = "admin.sock" },
        BrokenRule("node.metricsAddress", "HOST:PORT") { $0.node?.metricsAddress = "9400" },
        BrokenRule("node.sourceMAC", "a MAC address") {
            $0.node?.sourceMAC = "02:00"
            $0.node?.nextHopMAC = "02:00:00:00:00:fe"
        },
        BrokenRule("node.nextHopMAC", "together") { $0.node?.sourceMAC = "02:00:00:00:00:01" },
        BrokenRule("node.sourceMAC", "together") { $0.node?.nextHopMAC = "02:00:00:00:00:01" },
        BrokenRule("node.flowStore.address", "required") { $0.node?.flowStore = FlowStoreSpec(type: "redis") },
        BrokenRule("node.flowStore.address", "HOST:PORT") { $0.node?.flowStore = FlowStoreSpec(address: "redis") },
        BrokenRule("node.flowStore.address", "the embedded store has no address") {
            $0.node?.flowStore = FlowStoreSpec(type: "embedded", address: "10.0.0.1:6379")
        },
        BrokenRule("node.flowStore.type", "one of embedded, redis") {
            $0.node?.flowStore = FlowStoreSpec(type: "disk")
        },
        BrokenRule("node.flowStore.password", "required with user") {
            $0.node?.flowStore = FlowStoreSpec(address: "10.0.0.1:6379", user: "lb")
        },
        BrokenRule("node.flowStore.tcpIdleSeconds", "from 1 to 86400") {
            $0.node?.flowStore = FlowStoreSpec(tcpIdleSeconds: 0)
        },
        BrokenRule("node.flowStore.maxEntries", "from 1000") { $0.node?.flowStore = FlowStoreSpec(maxEntries: 10) },
        BrokenRule("node.flowStore.path", "an absolute path") { $0.node?.flowStore = FlowStoreSpec(path: "flows") },
        BrokenRule("node.flowStore.refreshSeconds", "shorter than the shortest entry lifetime (30 s)") {
            $0.node?.flowStore = FlowStoreSpec(newFlowSeconds: 30, refreshSeconds: 30)
        },
        BrokenRule("services[0].name", "required") { $0.services?[0].name = nil },
        BrokenRule("services[0].vip", "required") { $0.services?[0].vip = nil },
        BrokenRule("services[0].vip", "a unicast") { $0.services?[0].vip = "224.0.0.1" },
        BrokenRule("services[0].vip", "a unicast") { $0.services?[0].vip = "0.0.0.0" },
        BrokenRule("services[0].mode", "one of stateless, stateful") { $0.services?[0].mode = "stateles" },
        BrokenRule("services[0].flowKey", "one of connection, sourceIP") { $0.services?[0].flowKey = "client" },
        BrokenRule("services[0].encap", "one of ipip, gue") { $0.services?[0].encap = "vxlan" },
        BrokenRule("services[0].guePort", "encap is ipip") { $0.services?[0].guePort = 6081 },
        BrokenRule("services[0].guePort", "from 1 to 65535") {
            $0.services?[0].encap = "gue"
            $0.services?[0].guePort = 0
        },
        BrokenRule("services[0].ports", "required") { $0.services?[0].ports = nil },
        BrokenRule("services[0].ports", "at least one") { $0.services?[0].ports = [] },
        BrokenRule("services[0].ports[0].port", "required") { $0.services?[0].ports = [PortSpec(protocol: "tcp")] },
        BrokenRule("services[0].ports[0].port", "from 1 to 65535") { $0.services?[0].ports = [PortSpec(port: 65536)] },
        BrokenRule("services[0].ports[0].protocol", "tcp or udp") {
            $0.services?[0].ports = [PortSpec(port: 9, protocol: "sctp")]
        },
        BrokenRule("services[0].backends", "required") { $0.services?[0].backends = nil },
        BrokenRule("services[0].backends[1].address", "required") { $0.services?[0].backends?[1].address = nil },
        BrokenRule("services[0].backends[1].address", "a unicast") {
            $0.services?[0].backends?[1].address = "10.1.0.300"
        },
        BrokenRule("services[0].backends[1].weight", "from 0 to 65535") { $0.services?[0].backends?[1].weight = 70000 },
        BrokenRule("services[0].backends[1].port", "from 1 to 65535") { $0.services?[0].backends?[1].port = 0 },
        BrokenRule("services[0].backends[1].state", "one of up, draining, down") {
            $0.services?[0].backends?[1].state = "sleeping"
        },
        BrokenRule("services[0].backends[1]", "duplicate backend 10.1.0.11:80", firstAt: "services[0].backends[0]") {
            $0.services?[0].backends?[1] = BackendSpec(address: "10.1.0.11", port: 80)
        },
        BrokenRule("services[0].backends[1].address", "backend is IPv6 but VIP 10.200.0.10 is IPv4") {
            $0.services?[0].backends?[1].address = "fd00:1::12"
        },
        BrokenRule("services[1].ports[0]", "duplicate service 10.200.0.10:80/tcp", firstAt: "services[0].ports[0]") {
            $0.services?.append(
                ServiceSpec(
                    name: "web2", vip: "10.200.0.10", ports: [PortSpec(port: 80)],
                    backends: []))
        },
        BrokenRule("services[1].name", "duplicate service name 'web'", firstAt: "services[0].name") {
            $0.services?.append(ServiceSpec(name: "web", vip: "10.200.0.11", ports: [PortSpec(port: 80)], backends: []))
        },
        BrokenRule("services[2].guePort", "GUE port clash: backend 10.1.0.11", firstAt: "services[1].guePort") {
            var syslog = ConfigValidationTests.dnsOverGUE
            syslog.name = "syslog"
            syslog.ports = [PortSpec(port: 514, protocol: "udp")]
            syslog.guePort = 7000
            $0.services? += [ConfigValidationTests.dnsOverGUE, syslog]
        },
        BrokenRule("node.ipv4Source", "required: some backends are IPv4") { $0.node?.ipv4Source = nil },
        BrokenRule("node.ipv6Source", "required: some backends are IPv6") {
            $0.node?.ipv6Source = nil
            var dns = ConfigValidationTests.dnsOverGUE
            dns.backends = [BackendSpec(address: "fd00:1::21")]
            $0.services?.append(dns)
        },
        BrokenRule("node.mtu", "IPv6 needs 1280") {
            $0.node?.mtu = 1300
            $0.services?.append(
                ServiceSpec(
                    name: "web6", vip: "2001:db8::10", ports: [PortSpec(port: 80)],
                    backends: [BackendSpec(address: "fd00:1::11")]))
        },
        BrokenRule("node.maglevTableSize", "under 100 × 3 backends of web") {
            $0.node?.maglevTableSize = 251
            $0.services?[0].backends?.append(BackendSpec(address: "10.1.0.13"))
        },
        BrokenRule("services[0].healthCheck.timeoutSeconds", "exceeds intervalSeconds") {
            $0.services?[0].healthCheck = HealthCheckSpec(intervalSeconds: 0.2, timeoutSeconds: 0.5)
        },
        BrokenRule("services[0].healthCheck.intervalSeconds", "seconds from 0.05 to 3600") {
            $0.services?[0].healthCheck = HealthCheckSpec(intervalSeconds: 0.01)
        },
        BrokenRule("services[0].healthCheck.type", "one of tcp, http") {
            $0.services?[0].healthCheck = HealthCheckSpec(type: "icmp")
        },
        BrokenRule("services[0].healthCheck.path", "a path starting with /") {
            $0.services?[0].healthCheck = HealthCheckSpec(path: "healthz")
        },
        BrokenRule("services[0].healthCheck.expectStatus", "from 100 to 599") {
            $0.services?[0].healthCheck = HealthCheckSpec(expectStatus: 700)
        },
        BrokenRule("services[0].healthCheck.rise", "from 1 to 100") {
            $0.services?[0].healthCheck = HealthCheckSpec(rise: 0)
        },
        BrokenRule("services[0].healthCheck.fall", "from 1 to 100") {
            $0.services?[0].healthCheck = HealthCheckSpec(fall: 101)
        },
    ])
    func eachRuleBlamesItsField(_ rule: BrokenRule) {
        Self.check(rule)
    }

    @Test(arguments: [
        BrokenRule("node.bgp.asn", "required") { BGPEdit.bgp(&$0) { $0.asn = nil } },
        BrokenRule("node.bgp.asn", "an AS number from 1 to 4294967294 (RFC 6793), got 0") {
            BGPEdit.bgp(&$0) { $0.asn = 0 }
        },
        BrokenRule("node.bgp.asn", "got 4294967295") { BGPEdit.bgp(&$0) { $0.asn = 4_294_967_295 } },
        BrokenRule("node.bgp.asn", "23456 is AS_TRANS") { BGPEdit.bgp(&$0) { $0.asn = 23456 } },
        BrokenRule("node.bgp.routerID", "an IPv4 address other than 0.0.0.0") {
            BGPEdit.bgp(&$0) { $0.routerID = "0.0.0.0" }
        },
        BrokenRule("node.bgp.routerID", "an IPv4 address") { BGPEdit.bgp(&$0) { $0.routerID = "fd00::1" } },
        BrokenRule("node.bgp.routerID", "required: the node has no ipv4Source") {
            $0.node?.ipv4Source = nil
            $0.services = [ConfigValidationTests.web6]
            $0.node?.bgp = ConfigValidationTests.bgp
        },
        BrokenRule("node.bgp.holdSeconds", "0 or an integer from 3 to 65535 (RFC 4271 §4.2), got 2") {
            BGPEdit.bgp(&$0) { $0.holdSeconds = 2 }
        },
        BrokenRule("node.bgp.holdSeconds", "got 65536") { BGPEdit.bgp(&$0) { $0.holdSeconds = 65536 } },
        BrokenRule("node.bgp.drainSeconds", "seconds from 0 to 3600, got -1") {
            BGPEdit.bgp(&$0) { $0.drainSeconds = -1 }
        },
        BrokenRule("node.bgp.peers", "required") { BGPEdit.bgp(&$0) { $0.peers = nil } },
        BrokenRule("node.bgp.peers", "needs at least one peer") { BGPEdit.bgp(&$0) { $0.peers = [] } },
        BrokenRule("node.bgp.peers[0].address", "required") { BGPEdit.peer(&$0) { $0.address = nil } },
        BrokenRule("node.bgp.peers[0].address", "a unicast") { BGPEdit.peer(&$0) { $0.address = "224.0.0.5" } },
        BrokenRule("node.bgp.peers[0].asn", "required") { BGPEdit.peer(&$0) { $0.asn = nil } },
        BrokenRule("node.bgp.peers[0].asn", "an AS number") { BGPEdit.peer(&$0) { $0.asn = -1 } },
        BrokenRule("node.bgp.peers[0].port", "from 1 to 65535") { BGPEdit.peer(&$0) { $0.port = 0 } },
        BrokenRule("node.bgp.peers[0].password", "is 81 bytes; a TCP-MD5 key (RFC 2385) is at most 80 bytes") {
            BGPEdit.peer(&$0) { $0.password = String(repeating: "k", count: 81) }
        },
        BrokenRule("node.bgp.peers[0].password", "is 82 bytes") {
            BGPEdit.peer(&$0) { $0.password = String(repeating: "é", count: 41) }
        },
        BrokenRule("node.bgp.peers[0].password", "non-empty") { BGPEdit.peer(&$0) { $0.password = "" } },
        BrokenRule("node.bgp.peers[0].sourceAddress", "is IPv6 but the peer address 10.0.0.1 is IPv4") {
            BGPEdit.peer(&$0) { $0.sourceAddress = "fd00::11" }
        },
        BrokenRule("node.bgp.peers[0].sourceAddress", "a unicast") {
            BGPEdit.peer(&$0) { $0.sourceAddress = "10.0.0" }
        },
        BrokenRule("node.bgp.peers[0].families", "needs at least one of ipv4, ipv6") {
            BGPEdit.peer(&$0) { $0.families = [] }
        },
        BrokenRule("node.bgp.peers[0].families[1]", "one of ipv4, ipv6, got 'ipv4-unicast'") {
            BGPEdit.peer(&$0) { $0.families = ["ipv6", "ipv4-unicast"] }
        },
        BrokenRule(
            "node.bgp.peers[0].families[1]", "duplicate family ipv6", firstAt: "node.bgp.peers[0].families[0]"
        ) {
            BGPEdit.peer(&$0) { $0.families = ["ipv6", "ipv6"] }
        },
        BrokenRule("node.bgp.peers[0].bfd.intervalMs", "from 10 to 60000, got 5") {
            BGPEdit.peer(&$0) { $0.bfd = BFDSpec(intervalMs: 5) }
        },
        BrokenRule("node.bgp.peers[0].bfd.multiplier", "from 1 to 255, got 0") {
            BGPEdit.peer(&$0) { $0.bfd = BFDSpec(multiplier: 0) }
        },
        BrokenRule(
            "node.bgp.peers[1].address", "duplicate peer 10.0.0.1 port 179", firstAt: "node.bgp.peers[0].address"
        ) {
            BGPEdit.bgp(&$0) { $0.peers? += [BGPPeerSpec(address: "10.0.0.1", asn: 65002)] }
        },
        BrokenRule("node.ipv6Source", "required with bgp: IPv6 VIPs are announced with this node's IPv6 address") {
            $0.node?.ipv6Source = nil
            var web6 = ConfigValidationTests.web6
            web6.encap = "gue"
            web6.backends = [BackendSpec(address: "10.1.0.11")]
            $0.services?.append(web6)
            $0.node?.bgp = ConfigValidationTests.bgp
        },
        BrokenRule("node.shard", "from 0 to 4294967295, got -1") { $0.node?.shard = -1 },
        BrokenRule("services[0].shard", "from 0 to 4294967295, got 4294967296") {
            $0.services?[0].shard = 4_294_967_296
        },
        BrokenRule(
            "services[1].shard", "VIP 10.200.0.10 has shard 1 in web; every service of a VIP needs the same shard",
            firstAt: "services[0].shard"
        ) {
            $0.services?[0].shard = 1
            $0.services?.append(
                ServiceSpec(name: "dns", vip: "10.200.0.10", ports: [PortSpec(port: 53, protocol: "udp")], backends: [])
            )
        },
        BrokenRule(
            "services[0].communities[1]",
            "ASN:VALUE with each from 0 to 65535 (RFC 1997), e.g. 65000:100, got '65536:1'"
        ) {
            $0.services?[0].communities = ["65000:100", "65536:1"]
        },
        BrokenRule("services[0].communities[0]", "got '65000'") { $0.services?[0].communities = ["65000"] },
        BrokenRule("services[0].communities[0]", "got '-1:5'") { $0.services?[0].communities = ["-1:5"] },
        BrokenRule("services[0].communities[0]", "65535:0 is GRACEFUL_SHUTDOWN (RFC 8326)") {
            $0.services?[0].communities = ["65535:0"]
        },
        BrokenRule(
            "services[0].largeCommunities[0]",
            "A:B:C with each from 0 to 4294967295 (RFC 8092), e.g. 65000:1:2, got '1:2'"
        ) {
            $0.services?[0].largeCommunities = ["1:2"]
        },
        BrokenRule("services[0].largeCommunities[0]", "got '4294967296:0:0'") {
            $0.services?[0].largeCommunities = ["4294967296:0:0"]
        },
    ])
    func eachAnnouncementRuleBlamesItsField(_ rule: BrokenRule) {
        Self.check(rule)
    }

    /// `node.bgp` and the announcement settings, defaulted and as written.
    @Test func bgpDefaultsAndValues() throws {
        var spec = Self.valid
        spec.node?.bgp = Self.bgp
        let config = try ConfigValidation.validate(spec).get()
        let bgp = try #require(config.node.bgp)
        #expect(bgp.asn == 65001 && bgp.routerID == IPv4Address(10, 0, 0, 11), "the router id is the IPv4 source")
        #expect(bgp.holdSeconds == 90 && bgp.drainSeconds == 15)
        let peer = try #require(bgp.peers.first)
        #expect(peer.port == 179 && peer.password == nil && peer.sourceAddress == nil && peer.bfd == nil)
        #expect(peer.families == [.ipv4], "the VIPs' families")
        #expect(config.node.shard == nil && config.services[0].shard == nil && config.services[0].communities.isEmpty)

        spec.services?.append(Self.web6)
        spec.services?[0].shard = 7
        spec.services?[0].communities = ["65000:100", "0:65535"]
        spec.services?[0].largeCommunities = ["4200000001:0:4294967295"]
        spec.node?.shard = 7
        spec.node?.bgp = BGPSpec(
            asn: 4_200_000_001, routerID: "192.0.2.1", holdSeconds: 0, drainSeconds: 0.5,
            peers: [
                BGPPeerSpec(address: "10.0.0.1", asn: 65000),
                BGPPeerSpec(
                    address: "fd00::1", asn: 4_200_000_000, port: 1179, password: String(repeating: "k", count: 80),
                    sourceAddress: "fd00::11", families: ["ipv6"], bfd: BFDSpec()),
                BGPPeerSpec(address: "10.0.0.1", asn: 65000, port: 1179),
            ])
        let full = try ConfigValidation.validate(spec).get()
        let fullBGP = try #require(full.node.bgp)
        #expect(
            fullBGP.routerID == IPv4Address(192, 0, 2, 1) && fullBGP.holdSeconds == 0 && fullBGP.drainSeconds == 0.5)
        #expect(fullBGP.peers.map(\.families) == [[.ipv4, .ipv6], [.ipv6], [.ipv4, .ipv6]])
        #expect(fullBGP.peers[1].bfd == BFDSettings(intervalMs: 300, multiplier: 3))
        #expect(fullBGP.peers[1].port == 1179 && fullBGP.peers[1].password?.utf8.count == 80)
        #expect(full.node.shard == 7 && full.services[0].shard == 7)
        #expect(
            full.services[0].communities == [
                RouteCommunity(asn: 65000, value: 100), RouteCommunity(asn: 0, value: 65535),
            ])
        #expect(full.services[0].largeCommunities == [LargeRouteCommunity(4_200_000_001, 0, 4_294_967_295)])
    }

    /// The next hop of a family comes from the tunnel source, else from a peer's source address.
    @Test func aPeersSourceAddressCanBeTheNextHop() throws {
        var spec = Self.valid
        spec.node?.ipv6Source = nil
        var web6 = Self.web6
        web6.encap = "gue"
        web6.backends = [BackendSpec(address: "10.1.0.11")]
        spec.services?.append(web6)
        spec.node?.bgp = BGPSpec(
            asn: 65001, peers: [BGPPeerSpec(address: "fd00::1", asn: 65000, sourceAddress: "fd00::11")])
        let config = try ConfigValidation.validate(spec).get()
        let bgp = try #require(config.node.bgp)
        #expect(bgp.nextHop(for: .v6, node: config.node) == IPAddress("fd00::11"))
        #expect(bgp.nextHop(for: .v4, node: config.node) == IPAddress("10.0.0.11"))
    }

    static func check(_ rule: BrokenRule) {
        var spec = Self.valid
        rule.edit(&spec)
        let found = Self.problems(spec)
        #expect(found.count == 1, "\(found)")
        #expect(found.first?.path.description == rule.path, "\(found)")
        #expect(found.first?.message.contains(rule.message) == true, "\(found)")
        #expect(found.first?.firstAt?.description == rule.firstAt, "\(found)")
    }

    /// The edits that break no rule, next to the ones that do: the validator is not simply strict.
    @Test func nearMissesAreValid() throws {
        var spec = Self.valid
        spec.node?.mtu = 1280
        spec.node?.maglevTableSize = 251
        spec.node?.sourceMAC = "02:00:00:00:00:01"
        spec.node?.nextHopMAC = "02:00:00:00:00:fe"
        spec.node?.flowStore = FlowStoreSpec(newFlowSeconds: 30, refreshSeconds: 29)
        spec.services?[0].backends?[1].address = "10.1.0.11"
        spec.services?[0].backends?[1].port = 8080
        spec.services?[0].healthCheck = HealthCheckSpec(intervalSeconds: 0.5, timeoutSeconds: 0.5)
        let webUDP = ServiceSpec(
            name: "web-udp", vip: "10.200.0.10", ports: [PortSpec(port: 80, protocol: "udp")],
            backends: [])
        spec.services? += [webUDP, Self.dnsOverGUE]
        spec.services?[2].backends?.append(BackendSpec(address: "fd00:1::21"))
        let config = try ConfigValidation.validate(spec).get()
        #expect(config.node.flowStore?.kind == .embedded && config.node.flowStore?.refreshSeconds == 29)
        #expect(config.services.count == 3)
    }

    @Test func everyProblemIsReportedAtOnce() {
        var spec = Self.valid
        spec.node?.mtu = 99999
        spec.services?[0].backends?[0].weight = -1
        spec.services?[0].mode = "fast"
        #expect(
            Self.problems(spec).map(\.path.description).sorted()
                == ["node.mtu", "services[0].backends[0].weight", "services[0].mode"])
    }

    /// A bad value is one problem: rules combining it with other fields do not pile on.
    @Test func aBadValueIsNotReportedTwice() {
        var spec = Self.valid
        spec.node?.mtu = 100
        spec.services?.append(
            ServiceSpec(
                name: "web6", vip: "2001:db8::10", ports: [PortSpec(port: 80)],
                backends: [BackendSpec(address: "fd00:1::11")]))
        #expect(Self.problems(spec).map(\.message) == ["expected an integer from 1280 to 9216, got 100"])
    }

    @Test func fieldPathsReadAsWritten() {
        let path = FieldPath.key("services").index(2).key("backends").index(1).key("weight")
        #expect(path.description == "services[2].backends[1].weight")
        #expect(FieldPath.root.description == "(document)")
        #expect(path.isWithin(FieldPath.key("services").index(2)) && !path.isWithin(FieldPath.key("services").index(1)))
        #expect(path.parent?.description == "services[2].backends[1]")
        #expect(
            ConfigProblem(path: .key("node").key("mtu"), message: "too small", firstAt: .key("x")).description
                == "node.mtu: too small (first at x)")
    }
}
