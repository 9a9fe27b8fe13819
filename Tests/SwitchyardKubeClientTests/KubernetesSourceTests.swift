import Foundation
import Logging
import SwitchyardConfig
import SwitchyardCore
import SwitchyardKubeClient
import SwitchyardKubeNode
import SwitchyardKubernetes
import Testing

/// The LB agent's Kubernetes source against the test API server: objects written with kubectl v1.37 become
/// the agent's services, and every change the node acts on reaches it.
@Suite(.serialized) struct KubernetesSourceTests {
    static let objects = """
        apiVersion: v1
        kind: Namespace
        metadata: {name: shop}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: shop, annotations: {switchyard.io/mode: stateful}}
        spec:
          type: LoadBalancer
          loadBalancerClass: switchyard.io/lb
          loadBalancerSourceRanges: ["203.0.113.0/24"]
          ports: [{name: http, port: 80, targetPort: 8080}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
        addressType: IPv4
        ports: [{name: http, port: 8080, protocol: TCP}]
        endpoints:
        - {addresses: ["10.78.1.10"], nodeName: w1, conditions: {ready: true, serving: true, terminating: false}}
        - {addresses: ["10.78.2.10"], nodeName: w2, conditions: {ready: true, serving: true, terminating: false}}
        """

    static let node = """
        node: {name: lb1, ipv4Source: 10.77.2.11, interface: eth0}
        services: []
        """

    /// Collects the source's change triggers.
    actor Triggers {
        var seen: [String] = []
        func add(_ trigger: String) { seen.append(trigger) }
    }

    static func eventually(_ what: String, _ condition: () async -> Bool) async throws {
        for _ in 0..<100 {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting for \(what)")
    }

    /// A hung source fails the test instead of the suite.
    static func withinSeconds<T: Sendable>(_ seconds: Int, _ body: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw TestServerError("no answer within \(seconds) s")
            }
            return value
        }
    }

    @Test func servicesAndEndpointSlicesBecomeTheAgentsServicesAndFollowChanges() async throws {
        try await TestAPIServer.with { server in
            let dir = server.stateDirectory
            try Self.objects.write(toFile: "\(dir)/objects.yaml", atomically: true, encoding: .utf8)
            try Self.node.write(toFile: "\(dir)/node.yaml", atomically: true, encoding: .utf8)
            try server.kubectl(["apply", "-f", "\(TestAPIServer.repository)/deploy/kubernetes/"])
            try server.kubectl(["apply", "-f", "\(dir)/objects.yaml"])
            try server.kubectl([
                "patch", "service", "web", "-n", "shop", "--subresource=status", "--type=merge", "-p",
                #"{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10","ipMode":"Proxy"}]}}}"#,
            ])
            let client = try server.client()
            let logger = Logger(label: "test.source")
            let watcher = ClusterWatcher(client: client, logger: logger)
            let feed = Task { await watcher.run() }
            defer { feed.cancel() }
            let source = KubernetesConfigSource(
                nodeFile: "\(dir)/node.yaml", watcher: watcher, translator: LBServiceTranslator(),
                server: server.url, logger: logger)

            let config = try await Self.withinSeconds(20) { try await source.load().get() }
            let web = try #require(config.services.first)
            #expect(config.services.count == 1 && config.node.name == "lb1")
            #expect(web.name == "shop/web 192.0.2.10:80/tcp" && web.mode == .stateful)
            #expect(web.key == ServiceKey(vip: IPAddress("192.0.2.10")!, port: 80, proto: .tcp))
            #expect(web.backends.map(\.identity.description) == ["10.78.1.10:8080", "10.78.2.10:8080"])
            #expect(web.backends.allSatisfy { $0.state == .up })
            #expect(web.sourceRanges.map(\.description) == ["203.0.113.0/24"])

            let triggers = Triggers()
            let watching = Task { await source.watch { await triggers.add($0) } }
            defer { watching.cancel() }
            try await Task.sleep(for: .milliseconds(200))
            // w1's pod terminates: it keeps its connections (draining) and takes no new ones.
            try server.kubectl([
                "patch", "endpointslice", "web-1", "-n", "shop", "--type=json", "-p",
                #"[{"op":"replace","path":"/endpoints/0/conditions","#
                    + #""value":{"ready":false,"serving":true,"terminating":true}}]"#,
            ])
            try await Self.eventually("the slice change") {
                await triggers.seen.contains { $0.contains("endpointslice shop/web-1") }
            }
            let draining = try await source.load().get()
            #expect(draining.services.first?.backends.map(\.state) == [.draining, .up])

            try server.kubectl(["delete", "service", "web", "-n", "shop"])
            try await Self.eventually("the deletion") {
                await triggers.seen.contains { $0.contains("service shop/web deleted") }
            }
            #expect(try await source.load().get().services.isEmpty)
            try await client.shutdown()
        }
    }

    @Test func aBadNodeFileIsReportedWithItsLine() async throws {
        try await TestAPIServer.with { server in
            let dir = server.stateDirectory
            try "node: {name: lb1, ipv4Source: nowhere}\nservices: []\n".write(
                toFile: "\(dir)/node.yaml", atomically: true, encoding: .utf8)
            let client = try server.client()
            let watcher = ClusterWatcher(client: client, logger: Logger(label: "test.source"))
            let source = KubernetesConfigSource(
                nodeFile: "\(dir)/node.yaml", watcher: watcher, translator: LBServiceTranslator(),
                server: server.url, logger: Logger(label: "test.source"))
            guard case .failure(let error) = await source.load() else {
                Issue.record("a bad node file was accepted")
                return
            }
            #expect(error.problems.contains { $0.contains("node.yaml:1") && $0.contains("ipv4Source") }, "\(error)")

            // One file for every node (a DaemonSet's ConfigMap): name and tunnel source from the environment.
            try server.kubectl(["apply", "-f", "\(TestAPIServer.repository)/deploy/kubernetes/"])
            try "node: {interface: eth0}\nservices: []\n".write(
                toFile: "\(dir)/shared.yaml", atomically: true, encoding: .utf8)
            let feed = Task { await watcher.run() }
            defer { feed.cancel() }
            let shared = KubernetesConfigSource(
                nodeFile: "\(dir)/shared.yaml", watcher: watcher, translator: LBServiceTranslator(),
                server: server.url, nodeName: "lb9", nodeAddress: IPAddress("10.77.2.19"),
                logger: Logger(label: "test.source"))
            let config = try await Self.withinSeconds(20) { try await shared.load().get() }
            #expect(config.node.name == "lb9" && config.node.ipv4Source?.description == "10.77.2.19")
            try await client.shutdown()
        }
    }
}
