import Foundation
import Testing

@testable import SwitchyardConfig
@testable import SwitchyardCore

@Suite struct ConfigLoaderTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "../../examples")

    static let minimal = """
        node:
          name: lb1
          ipv4Source: 10.0.0.11
        services:
          - name: web
            vip: 10.200.0.10
            ports: [{port: 80}]
            backends:
              - {address: 10.1.0.11}
        """

    func errors(_ yaml: String) -> [ConfigError] {
        switch ConfigLoader.parse(yaml: yaml, file: "t.yaml") {
        case .success: return []
        case .failure(let e): return e.errors
        }
    }

    @Test func exampleLoads() throws {
        let config = try ConfigLoader.load(path: Self.examples.appendingPathComponent("switchyard.yaml").path).get()
        #expect(config.node.name == "lb1")
        #expect(config.services.count == 4, "web has two ports, so two services")
        let web80 = try #require(config.service(for: ServiceKey(vip: IPAddress("10.200.0.10")!, port: 80, proto: .tcp)))
        #expect(web80.backends.map(\.weight) == [1, 2, 1])
        #expect(web80.backends[2].state == .draining)
        #expect(web80.backends.allSatisfy { $0.port == 80 })
        let web443 = try #require(
            config.service(for: ServiceKey(vip: IPAddress("10.200.0.10")!, port: 443, proto: .tcp)))
        #expect(web443.backends.allSatisfy { $0.port == 443 }, "backend port defaults to each service port")
        let dns = try #require(config.services.last)
        #expect(dns.encap == .gue && dns.guePort == 6080 && dns.flowKey == .sourceIP)
        #expect(config.services[2].mode == .stateful)
    }

    /// The BGP example: one peer, with BFD from the peer's source address.
    @Test func bgpExampleLoads() throws {
        let config = try ConfigLoader.load(path: Self.examples.appendingPathComponent("bgp-bfd.yaml").path).get()
        let bgp = try #require(config.node.bgp)
        let peer = try #require(bgp.peers.first)
        #expect(bgp.peers.count == 1 && bgp.asn == 65001 && peer.asn == 65000)
        #expect(peer.bfd == BFDSettings(intervalMs: 300, multiplier: 3))
        #expect(BFDSettings.localAddress(of: peer, node: config.node) == IPAddress("10.0.0.11"))
        #expect(config.services.allSatisfy { $0.healthCheck != nil && !$0.communities.isEmpty })
    }

    /// The bad example: every error, each with its file, line and field.
    @Test func badExampleReportsEveryError() throws {
        let path = Self.examples.appendingPathComponent("bad.yaml").path
        guard case .failure(let failure) = ConfigLoader.load(path: path) else {
            Issue.record("bad.yaml loaded")
            return
        }
        let found = Set(failure.errors.map { "\($0.line) \($0.field)" })
        let expected: Set = [
            "4 node.ipv4Source", "5 node.mtu", "6 node.maglevTableSize", "7 node.colour",
            "15 services[0].backends[0].weight", "16 services[0].backends[1].address",
            "17 services[0].backends[2]", "18 services[0].backends[3].address",
            "23 services[1].ports[0]", "24 services[1].ports[1].protocol", "25 services[1].mode",
            "39 services[3].guePort", "3 node.ipv6Source",
        ]
        #expect(found == expected)
        #expect(
            failure.errors.allSatisfy {
                $0.file == path && $0.description.hasPrefix("\(path):\($0.line): \($0.field): ")
            })
    }

    @Test func minimalIsValidWithDefaults() throws {
        let config = try ConfigLoader.parse(yaml: Self.minimal, file: "t.yaml").get()
        #expect(config.node.mtu == 1500)
        #expect(config.node.maglevTableSize == 65537)
        let service = try #require(config.services.first)
        #expect(service.mode == .stateless && service.flowKey == .connection && service.encap == .ipip)
        #expect(service.key.proto == .tcp)
        #expect(service.backends == [Backend(address: IPAddress("10.1.0.11")!, port: 80, weight: 1, state: .up)])
    }

    @Test(arguments: [
        ("ipv4Source: 10.0.0.11", "ipv4Source: 10.0.0.11\n  colour: red", 4, "node.colour", "unknown key"),
        (
            "{address: 10.1.0.11}", "{address: 10.1.0.11, weight: -1}", 9, "services[0].backends[0].weight",
            "expected an integer from 0 to 65535"
        ),
        (
            "{address: 10.1.0.11}", "{address: 10.1.0.11, wieght: 2}", 9, "services[0].backends[0].wieght",
            "did you mean 'weight'"
        ),
        (
            "{address: 10.1.0.11}", "{address: 10.1.0.11, state: sleeping}", 9, "services[0].backends[0].state",
            "expected one of up, draining, down"
        ),
        ("vip: 10.200.0.10", "vip: 224.0.0.1", 6, "services[0].vip", "expected a unicast"),
        ("vip: 10.200.0.10", "vip: 10.200.0", 6, "services[0].vip", "expected a unicast"),
        ("ports: [{port: 80}]", "ports: [{port: 0}]", 7, "services[0].ports[0].port", "from 1 to 65535"),
        ("ports: [{port: 80}]", "ports: []", 7, "services[0].ports", "at least one"),
        ("ports: [{port: 80}]", "ports: [{port: 80}]\n    guePort: 6081", 8, "services[0].guePort", "encap is ipip"),
        ("name: lb1", "name: lb1\n  mtu: 1279", 3, "node.mtu", "from 1280 to 9216"),
        ("name: lb1", "name: lb1\n  maglevTableSize: 1000", 3, "node.maglevTableSize", "a prime"),
        ("name: lb1", "name: lb1\n  sourceMAC: 02:00:00:00:00:01", 2, "node.nextHopMAC", "together"),
        ("ipv4Source: 10.0.0.11", "ipv6Source: fd00::11", 2, "node.ipv4Source", "required"),
        ("name: lb1", "name: lb1\n  flowStore: {type: redis}", 3, "node.flowStore.address", "required field"),
        (
            "name: lb1", "name: lb1\n  flowStore: {type: embedded, address: \"10.0.0.1:6379\"}", 3,
            "node.flowStore.address", "the embedded store has no address"
        ),
        (
            "name: lb1", "name: lb1\n  flowStore: {address: \"10.0.0.1:6379\", user: lb}", 3, "node.flowStore.password",
            "required with user"
        ),
        (
            "name: lb1", "name: lb1\n  flowStore: {address: \"10.0.0.1:6379\", refreshSeconds: 60}", 3,
            "node.flowStore.refreshSeconds", "must be shorter"
        ),
        (
            "name: lb1", "name: lb1\n  flowStore: {type: disk}", 3, "node.flowStore.type",
            "expected one of embedded, redis, redis-cluster, redis-sentinel"
        ),
        ("name: lb1", "name: lb1\n  flowStore: {type: redis-cluster}", 3, "node.flowStore.seeds", "required field"),
        (
            "name: lb1", "name: lb1\n  flowStore: {type: redis-sentinel, seeds: [\"10.0.0.1:26379\"]}", 3,
            "node.flowStore.masterName", "required field"
        ),
        (
            "name: lb1", "name: lb1\n  flowStore: {type: redis-cluster, seeds: []}", 3, "node.flowStore.seeds",
            "lists no server"
        ),
        (
            "name: lb1", "name: lb1\n  flowStore:\n    seeds:\n      - \"10.0.0.1:7001\"\n      - \"10.0.0.1\"", 6,
            "node.flowStore.seeds[1]", "expected HOST:PORT of a cluster node"
        ),
        (
            "name: lb1", "name: lb1\n  flowStore:\n    seeds:\n      - \"10.0.0.1:7001\"\n      - \"10.0.0.1:7001\"", 6,
            "node.flowStore.seeds[1]", "listed twice"
        ),
        (
            "name: lb1", "name: lb1\n  flowStore: {address: \"10.0.0.1:6379\", seeds: [\"10.0.0.2:7001\"]}", 3,
            "node.flowStore.seeds", "type redis does not read it"
        ),
        (
            "name: lb1", "name: lb1\n  flowStore: {type: redis-cluster, address: \"10.0.0.1:6379\", seeds: [\"a:1\"]}",
            3,
            "node.flowStore.address", "list the servers under seeds"
        ),
        (
            "name: lb1", "name: lb1\n  flowStore: {address: \"10.0.0.1:6379\", masterName: m}", 3,
            "node.flowStore.masterName", "is for type redis-sentinel"
        ),
        (
            "name: lb1",
            "name: lb1\n  flowStore:\n    address: \"10.0.0.1:6379\"\n    tls:\n"
                + "      certificateFile: /c.pem\n      keyFile: /k.pem",
            6, "node.flowStore.tls.caFile", "required field"
        ),
        (
            "name: lb1",
            "name: lb1\n  flowStore:\n    address: \"10.0.0.1:6379\"\n    tls:\n      caFile: ca.pem", 6,
            "node.flowStore.tls.caFile", "expected an absolute path"
        ),
        (
            "name: lb1",
            "name: lb1\n  flowStore:\n    address: \"10.0.0.1:6379\"\n    tls: {caFile: /ca.pem, keyFile: /k.pem}", 5,
            "node.flowStore.tls.certificateFile", "required with keyFile"
        ),
        (
            "name: lb1", "name: lb1\n  flowStore: {address: \"10.0.0.1:6379\", tls: {caFile: /ca.pem, ca: x}}", 3,
            "node.flowStore.tls.ca", "unknown key"
        ),
        (
            "name: lb1", "name: lb1\n  flowStore: {type: embedded, password: x}", 3, "node.flowStore.password",
            "the embedded store has no server"
        ),
        (
            "name: lb1", "name: lb1\n  flowStore: {address: \"10.0.0.1:6379\", path: /var/lib/j}", 3,
            "node.flowStore.path", "is for type embedded"
        ),
    ])
    func singleError(_ find: String, _ replace: String, _ line: Int, _ field: String, _ message: String) {
        let found = errors(Self.minimal.replacingOccurrences(of: find, with: replace))
        #expect(found.count == 1, "\(found)")
        #expect(found.first?.line == line, "\(found)")
        #expect(found.first?.field == field, "\(found)")
        #expect(found.first?.message.contains(message) == true, "\(found)")
    }

    @Test func flowStoreDefaults() throws {
        let redis = try ConfigLoader.parse(
            yaml: Self.minimal.replacingOccurrences(
                of: "name: lb1", with: "name: lb1\n  flowStore: {address: \"[fd00::1]:6380\", tcpIdleSeconds: 3600}"),
            file: "t.yaml"
        ).get()
        let store = try #require(redis.node.flowStore)
        #expect(store.kind == .redis && store.host == "fd00::1" && store.port == 6380)
        #expect(
            store.idleSeconds(proto: 6) == 3600
                && store.idleSeconds(proto: 17) == FlowStoreSettings.defaultUDPIdleSeconds)
        let embedded = try ConfigLoader.parse(
            yaml: Self.minimal.replacingOccurrences(
                of: "name: lb1", with: "name: lb1\n  flowStore: {maxEntries: 5000}"), file: "t.yaml"
        ).get()
        #expect(embedded.node.flowStore?.kind == .embedded && embedded.node.flowStore?.maxEntries == 5000)
    }

    @Test func clusterSentinelAndTLSStores() throws {
        func store(_ yaml: String) throws -> FlowStoreSettings {
            let config = try ConfigLoader.parse(
                yaml: Self.minimal.replacingOccurrences(of: "name: lb1", with: "name: lb1\n  flowStore:\n" + yaml),
                file: "t.yaml"
            ).get()
            return try #require(config.node.flowStore)
        }
        let cluster = try store(
            """
                seeds: ["10.0.0.1:7001", "[fd00::2]:7002"]
                user: switchyard
                password: secret
                tls: {caFile: /etc/switchyard/ca.pem, certificateFile: /etc/switchyard/c.pem, \
            keyFile: /etc/switchyard/k.pem, serverName: redis.internal}
            """)
        #expect(cluster.kind == .redisCluster)
        #expect(cluster.seeds.map(\.description) == ["10.0.0.1:7001", "[fd00::2]:7002"])
        #expect(cluster.user == "switchyard" && cluster.password == "secret")
        #expect(
            cluster.tls
                == FlowStoreTLS(
                    caFile: "/etc/switchyard/ca.pem", certificateFile: "/etc/switchyard/c.pem",
                    keyFile: "/etc/switchyard/k.pem", serverName: "redis.internal"))
        let sentinel = try store(
            """
                type: redis-sentinel
                seeds: ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"]
                masterName: switchyard
            """)
        #expect(sentinel.kind == .redisSentinel && sentinel.masterName == "switchyard" && sentinel.seeds.count == 3)
        #expect(sentinel.tls == nil)
    }

    @Test func ipv6BackendUnderIPIPForIPv4VIP() {
        let found = errors(
            Self.minimal.replacingOccurrences(of: "{address: 10.1.0.11}", with: "{address: \"fd00::1\"}"))
        #expect(found.map { "\($0.line) \($0.field)" } == ["2 node.ipv6Source", "9 services[0].backends[0].address"])
        #expect(found.last?.message.contains("backend is IPv6 but VIP 10.200.0.10 is IPv4") == true)
    }

    @Test func duplicateKeyIsNamed() {
        let found = errors(
            Self.minimal.replacingOccurrences(of: "  - name: web", with: "  - name: web\n    name: again"))
        #expect(found.count == 1)
        #expect(found.first?.message.contains("duplicate key 'name'") == true, "\(found)")
        #expect((found.first?.line ?? 0) >= 5, "\(found)")
    }

    @Test func yamlSyntaxErrorHasALine() {
        let found = errors("node:\n  name: [lb1\nservices: []\n")
        #expect(found.count == 1)
        #expect(found.first?.field == "yaml")
        #expect((found.first?.line ?? 0) >= 2)
    }

    @Test func emptyFileAndWrongShapes() {
        #expect(errors("").first?.message.contains("empty") == true)
        #expect(errors("- 1\n- 2\n").first?.message.contains("expected a mapping") == true)
        #expect(errors("node: {name: lb1}\nservices: {}\n").first?.field == "services")
    }

    @Test func duplicateServiceAcrossEntries() {
        let yaml =
            Self.minimal
            + "\n  - name: web2\n    vip: 10.200.0.10\n    ports: [{port: 80, protocol: tcp}]\n    backends: []\n"
        let found = errors(yaml)
        #expect(found.map(\.field) == ["services[1].ports[0]"])
        #expect(found.first?.message.contains("first at line 7") == true)
    }

    @Test func sameVIPPortOtherProtocolIsFine() throws {
        let yaml =
            Self.minimal
            + "\n  - name: web-udp\n    vip: 10.200.0.10\n    ports: [{port: 80, protocol: udp}]\n    backends: []\n"
        #expect(errors(yaml).isEmpty)
    }

    @Test func ringTooSmallForBackends() {
        let backends = (1...5).map { "      - {address: 10.1.0.\($0)}" }.joined(separator: "\n")
        let yaml = Self.minimal.replacingOccurrences(of: "name: lb1", with: "name: lb1\n  maglevTableSize: 251")
            .replacingOccurrences(of: "      - {address: 10.1.0.11}", with: backends)
        let found = errors(yaml)
        #expect(found.map(\.field) == ["node.maglevTableSize"])
        #expect(found.first?.message.contains("503") == true, "suggests the next prime ≥ 500")
    }

    @Test func ipv6ServiceNeedsRoomForTheMinimumMTU() {
        let yaml = """
            node: {name: lb1, ipv6Source: "fd00::11", mtu: 1300}
            services:
              - {name: w6, vip: "2001:db8::10", ports: [{port: 80}], backends: [{address: "fd00:1::1"}]}
            """
        let found = errors(yaml)
        #expect(found.map(\.field) == ["node.mtu"])
        #expect(found.first?.message.contains("1280") == true)
    }
}
