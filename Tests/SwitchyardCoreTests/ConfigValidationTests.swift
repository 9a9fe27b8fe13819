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
