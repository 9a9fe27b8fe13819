import Foundation
import SwitchyardCore
import Testing

@testable import SwitchyardKubernetes

/// Objects as a server sends them, written compactly.
enum NodeObjects {
    static func decode<T: Decodable>(_ json: String) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(json.utf8))
        } catch {
            Issue.record("bad test JSON: \(error)\n\(json)")
            fatalError("bad test JSON")
        }
    }

    static func service(
        _ name: String, namespace: String = "shop", created: String = "2026-11-30T10:00:00Z",
        ingress: [String] = ["192.0.2.10"], ports: String = #"[{"name":"http","protocol":"TCP","port":80}]"#,
        annotations: String = "{}", extra: String = "", loadBalancerClass: String = "switchyard.io/lb"
    ) -> SwitchyardKubernetes.Service {
        let ips = ingress.map { #"{"ip":"\#($0)"}"# }.joined(separator: ",")
        return decode(
            """
            {"metadata":{"name":"\(name)","namespace":"\(namespace)","creationTimestamp":"\(created)",
                         "resourceVersion":"1","annotations":\(annotations)},
             "spec":{"type":"LoadBalancer","loadBalancerClass":"\(loadBalancerClass)","ports":\(ports)\(extra)},
             "status":{"loadBalancer":{"ingress":[\(ips)]}}}
            """)
    }

    /// `endpoints`: (address, node, ready, serving, terminating).
    static func slice(
        _ name: String, service: String, namespace: String = "shop", addressType: String = "IPv4",
        port: Int = 8080, portName: String = "http", portProtocol: String = "TCP",
        endpoints: [(String, String, Bool, Bool, Bool)]
    ) -> EndpointSlice {
        let list = endpoints.map { address, node, ready, serving, terminating in
            #"{"addresses":["\#(address)"],"nodeName":"\#(node)","#
                + #""conditions":{"ready":\#(ready),"serving":\#(serving),"terminating":\#(terminating)}}"#
        }.joined(separator: ",")
        return decode(
            """
            {"metadata":{"name":"\(name)","namespace":"\(namespace)","resourceVersion":"1",
                         "labels":{"kubernetes.io/service-name":"\(service)"}},
             "addressType":"\(addressType)","endpoints":[\(list)],
             "ports":[{"name":"\(portName)","protocol":"\(portProtocol)","port":\(port)}]}
            """)
    }

    static func pool(_ name: String, _ addresses: String, defaults: String = "{}") -> AddressPool {
        decode(#"{"metadata":{"name":"\#(name)"},"spec":{"addresses":[\#(addresses)],"defaults":\#(defaults)}}"#)
    }

    static func objects(
        services: [SwitchyardKubernetes.Service], slices: [EndpointSlice] = [], pools: [AddressPool] = []
    ) -> ClusterObjects {
        var objects = ClusterObjects()
        objects.apply(.servicesListed(services))
        objects.apply(.slicesListed(slices))
        objects.apply(.poolsListed(pools))
        return objects
    }

    static let nodeSpec: ConfigSpec = ConfigSpec(
        node: NodeSpec(name: "lb1", ipv4Source: "10.0.0.11", interface: "eth0"), services: [])
}

@Suite struct LBServiceTranslatorTests {
    let translator = LBServiceTranslator()

    @Test func endpointConditionsBecomeBackendStatesOnTheTargetPort() throws {
        let objects = NodeObjects.objects(
            services: [NodeObjects.service("web", annotations: #"{"switchyard.io/mode":"stateful"}"#)],
            slices: [
                NodeObjects.slice(
                    "web-a", service: "web",
                    endpoints: [
                        ("10.1.0.1", "w1", true, true, false), ("10.1.0.2", "w1", false, true, true),
                        ("10.1.0.3", "w2", false, false, false),
                    ])
            ])
        let translated = translator.translate(objects)
        let web = try #require(translated.first)
        #expect(translated.count == 1 && web.key == NamespacedName(namespace: "shop", name: "web"))
        let spec = try #require(web.specs.first)
        #expect(web.specs.count == 1)
        #expect(spec.vip == "192.0.2.10" && spec.ports == [PortSpec(port: 80, protocol: "tcp")])
        #expect(spec.mode == "stateful" && spec.flowKey == "connection")
        #expect(
            spec.backends == [
                BackendSpec(address: "10.1.0.1", port: 8080, state: "up"),
                BackendSpec(address: "10.1.0.2", port: 8080, state: "draining"),
                BackendSpec(address: "10.1.0.3", port: 8080, state: "draining"),
            ])
    }

    @Test func oneServicePerAddressAndPortWithExternalIPsAndFamiliesKeptApart() throws {
        let service = NodeObjects.service(
            "dual", ingress: ["192.0.2.10", "2001:db8::10"],
            ports: #"[{"name":"http","port":80},{"name":"dns","protocol":"UDP","port":53},"#
                + #"{"name":"s","protocol":"SCTP","port":9}]"#,
            extra: #","externalIPs":["198.51.100.7"]"#)
        let v4 = NodeObjects.slice("d4", service: "dual", endpoints: [("10.1.0.1", "w1", true, true, false)])
        let v6 = NodeObjects.slice(
            "d6", service: "dual", addressType: "IPv6", endpoints: [("fd00::1", "w1", true, true, false)])
        let dns = NodeObjects.slice(
            "d4-dns", service: "dual", port: 5353, portName: "dns", portProtocol: "UDP",
            endpoints: [("10.1.0.1", "w1", true, true, false)])
        let translated = try #require(
            translator.translate(NodeObjects.objects(services: [service], slices: [v4, v6])).first)
        #expect(
            translated.specs.map(\.vip) == ["192.0.2.10", "2001:db8::10", "198.51.100.7"] + [
                "192.0.2.10", "2001:db8::10", "198.51.100.7",
            ])
        #expect(translated.specs[0].backends?.map(\.address) == ["10.1.0.1"])
        #expect(translated.specs[1].backends?.map(\.address) == ["fd00::1"])
        #expect(translated.specs[3].backends == [], "no slice port named dns yet")
        #expect(translated.problems == ["spec.ports[2].protocol: SCTP is not carried (TCP and UDP are)"])
        let withDNS = try #require(
            translator.translate(NodeObjects.objects(services: [service], slices: [v4, v6, dns])).first)
        #expect(withDNS.specs[3].backends == [BackendSpec(address: "10.1.0.1", port: 5353, state: "up")])
        #expect(withDNS.specs[3].ports == [PortSpec(port: 53, protocol: "udp")])
    }

    @Test func affinityPoolDefaultsAndSourceRanges() throws {
        let pool = NodeObjects.pool("p", #""192.0.2.0/28""#, defaults: #"{"mode":"stateful"}"#)
        let sticky = NodeObjects.service(
            "sticky", extra: #","sessionAffinity":"ClientIP","loadBalancerSourceRanges":["203.0.113.0/24"]"#)
        let legacy = NodeObjects.service(
            "legacy", ingress: ["192.0.2.11"],
            annotations: #"{"service.beta.kubernetes.io/load-balancer-source-ranges":"198.51.100.0/24, 2001:db8::/32"}"#
        )
        let translated = translator.translate(NodeObjects.objects(services: [sticky, legacy], pools: [pool]))
        let bySpec = Dictionary(uniqueKeysWithValues: translated.map { ($0.key.name, $0) })
        #expect(bySpec["sticky"]?.specs.first?.flowKey == "sourceIP")
        #expect(bySpec["sticky"]?.specs.first?.mode == "stateful", "the pool's default")
        #expect(bySpec["sticky"]?.affinityTimeoutSeconds == 10800)
        #expect(bySpec["sticky"]?.sourceRanges == ["203.0.113.0/24"])
        #expect(bySpec["legacy"]?.sourceRanges == ["198.51.100.0/24", "2001:db8::/32"])
        #expect(bySpec["legacy"]?.affinityTimeoutSeconds == nil)
        #expect(bySpec["sticky"]?.specs.first?.sourceRanges == ["203.0.113.0/24"])
        #expect(bySpec["legacy"]?.specs.first?.sourceRanges == ["198.51.100.0/24"], "this address's family only")
    }

    @Test func rangesOfOneFamilyLeaveTheOtherFamilysAddressUnserved() throws {
        let dual = NodeObjects.service(
            "dual", ingress: ["192.0.2.10", "2001:db8::10"], extra: #","loadBalancerSourceRanges":["203.0.113.0/24"]"#)
        let translated = try #require(translator.translate(NodeObjects.objects(services: [dual])).first)
        #expect(translated.specs.map(\.vip) == ["192.0.2.10"])
        #expect(translated.problems.contains { $0.contains("no IPv6 prefix") || $0.contains("no v6 prefix") })
        let assembly = NodeConfigAssembler.assemble(node: NodeObjects.nodeSpec, services: [translated])
        #expect(assembly.config?.services.first?.sourceRanges.map(\.description) == ["203.0.113.0/24"])
    }

    @Test func othersAndUnaddressedServicesAreNotOurs() {
        let objects = NodeObjects.objects(services: [
            NodeObjects.service("theirs", loadBalancerClass: "example.com/other"),
            NodeObjects.service("waiting", ingress: []),
        ])
        #expect(translator.translate(objects).isEmpty)
    }
}

@Suite struct NodeConfigAssemblerTests {
    @Test func aClashLeavesTheNewerServiceOutAndKeepsTheRest() throws {
        let older = NodeObjects.service("older", created: "2026-11-30T09:00:00Z")
        let newer = NodeObjects.service("newer", created: "2026-11-30T11:00:00Z")
        let other = NodeObjects.service("other", ingress: ["192.0.2.11"])
        let slices = ["older", "newer", "other"].map {
            NodeObjects.slice("\($0)-1", service: $0, endpoints: [("10.1.0.1", "w1", true, true, false)])
        }
        let translated = LBServiceTranslator().translate(
            NodeObjects.objects(services: [newer, other, older], slices: slices))
        #expect(translated.map(\.key.name) == ["older", "other", "newer"])
        let assembly = NodeConfigAssembler.assemble(node: NodeObjects.nodeSpec, services: translated)
        let config = try #require(assembly.config)
        #expect(config.services.map(\.name) == ["shop/older 192.0.2.10:80/tcp", "shop/other 192.0.2.11:80/tcp"])
        let why = try #require(assembly.skipped[NamespacedName(namespace: "shop", name: "newer")])
        #expect(why.contains { $0.contains("duplicate service 192.0.2.10:80/tcp") }, "\(why)")
    }

    @Test func aBadServiceIsSkippedAloneAndABadNodeFileStopsAll() throws {
        let bad = NodeObjects.service("bad", annotations: #"{"switchyard.io/encap":"vxlan"}"#)
        let good = NodeObjects.service("good", ingress: ["192.0.2.11"])
        let translated = LBServiceTranslator().translate(NodeObjects.objects(services: [bad, good]))
        let assembly = NodeConfigAssembler.assemble(node: NodeObjects.nodeSpec, services: translated)
        #expect(assembly.config?.services.map(\.name) == ["shop/good 192.0.2.11:80/tcp"])
        let why = try #require(assembly.skipped[NamespacedName(namespace: "shop", name: "bad")])
        #expect(why.count == 1 && why[0].hasPrefix("shop/bad 192.0.2.10:80/tcp: "), "\(why)")
        var broken = NodeObjects.nodeSpec
        broken.node?.ipv4Source = "not-an-address"
        let none = NodeConfigAssembler.assemble(node: broken, services: translated)
        #expect(none.config == nil && !none.nodeProblems.isEmpty)
    }
}

@Suite struct PodPlannerTests {
    @Test func podsOfThisNodeGetAddressesAndOnlyRealMappings() throws {
        let mapped = NodeObjects.service("mapped")
        let same = NodeObjects.service("same", ingress: ["192.0.2.11"])
        let slices = [
            NodeObjects.slice(
                "mapped-1", service: "mapped",
                endpoints: [
                    ("10.1.0.1", "w1", true, true, false), ("10.1.0.2", "w1", false, true, true),
                    ("10.2.0.1", "w2", true, true, false),
                ]),
            NodeObjects.slice("same-1", service: "same", port: 80, endpoints: [("10.1.0.1", "w1", true, true, false)]),
        ]
        let plans = PodPlanner(nodeName: "w1").plans(NodeObjects.objects(services: [mapped, same], slices: slices))
        #expect(Set(plans.keys.map(\.description)) == ["10.1.0.1", "10.1.0.2"], "w2's pod is not ours; terminating is")
        let first = try #require(plans[IPAddress("10.1.0.1")!])
        #expect(first.addresses.map(\.description) == ["192.0.2.10", "192.0.2.11"])
        #expect(first.mappings.map(\.description) == ["tcp 192.0.2.10:80→8080"])
        #expect(first.services.map(\.name) == ["mapped", "same"])
    }
}

@Suite struct PodReconcilerTests {
    static func plan(_ pod: String, _ addresses: [String]) -> PodPlan {
        PodPlan(
            podAddress: IPAddress(pod)!, addresses: addresses.compactMap { IPAddress($0) }, mappings: [],
            services: [])
    }

    @Test func appliesRetriesWithBackoffAndCleansUp() {
        var reconciler = PodReconciler()
        let a = Self.plan("10.1.0.1", ["192.0.2.10"])
        var actions = reconciler.desiredChanged([a.podAddress: a], now: 0)
        #expect(actions == [.apply(a, previous: nil)])
        let again = reconciler.desiredChanged([a.podAddress: a], now: 0)
        #expect(again.isEmpty, "in flight: not again")
        actions = reconciler.finished(actions[0], .failed("no namespace yet"), now: 0)
        #expect(actions.isEmpty && reconciler.nextRetry == 0.5)
        let early = reconciler.tick(now: 0.4)
        #expect(early.isEmpty)
        actions = reconciler.tick(now: 0.5)
        #expect(actions == [.apply(a, previous: nil)])
        actions = reconciler.finished(actions[0], .failed("still none"), now: 0.5)
        #expect(reconciler.nextRetry == 1.5, "doubled")
        actions = reconciler.tick(now: 1.5)
        _ = reconciler.finished(actions[0], .done, now: 1.5)
        #expect(reconciler.applied[a.podAddress] == a && reconciler.nextRetry == nil)
        let b = Self.plan("10.1.0.1", ["192.0.2.10", "192.0.2.11"])
        let change = reconciler.desiredChanged([b.podAddress: b], now: 2)
        #expect(change == [.apply(b, previous: a)])
        _ = reconciler.finished(.apply(b, previous: a), .done, now: 2)
        let removal = reconciler.desiredChanged([:], now: 3)
        #expect(removal == [.remove(b)])
        _ = reconciler.finished(.remove(b), .done, now: 3)
        #expect(reconciler.applied.isEmpty)
    }

    @Test func afterARestartKnownPodsAreLeftAndGonePodsCleanedUp() {
        let kept = Self.plan("10.1.0.1", ["192.0.2.10"])
        let gone = Self.plan("10.1.0.2", ["192.0.2.10"])
        var reconciler = PodReconciler(applied: [kept.podAddress: kept, gone.podAddress: gone])
        let actions = reconciler.desiredChanged([kept.podAddress: kept], now: 0)
        #expect(actions == [.remove(gone)])
    }
}

@Suite struct ClusterObjectsTests {
    @Test func syncNeedsEveryKindAndAVersionBumpAloneChangesNothing() {
        var objects = ClusterObjects()
        let service = NodeObjects.service("web")
        var changed = objects.apply(.servicesListed([service]))
        #expect(changed)
        #expect(!objects.isSynced)
        objects.apply(.slicesListed([]))
        objects.apply(.poolsListed([]))
        #expect(objects.isSynced)
        var bumped = service
        bumped.metadata.resourceVersion = "2"
        changed = objects.apply(.serviceUpserted(bumped))
        #expect(!changed)
        bumped.status = nil
        changed = objects.apply(.serviceUpserted(bumped))
        #expect(changed)
        let slice = NodeObjects.slice("web-1", service: "web", endpoints: [("10.1.0.1", "w1", true, true, false)])
        changed = objects.apply(.sliceUpserted(slice))
        #expect(changed)
        #expect(objects.slices(of: NamespacedName(namespace: "shop", name: "web")) == [slice])
        changed = objects.apply(.sliceDeleted(slice))
        #expect(changed)
        #expect(objects.slices(of: NamespacedName(namespace: "shop", name: "web")).isEmpty)
    }
}
