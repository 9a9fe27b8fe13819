import Foundation
import Logging
import Testing

@testable import SwitchyardKubeClient
@testable import SwitchyardKubernetes

/// The controller end to end: the real binary against the test API server, objects made with
/// kubectl and the Python client, outcomes read back with both.
@Suite(.serialized) struct ControllerEndToEndTests {
    static let pool = """
        apiVersion: switchyard.io/v1alpha1
        kind: AddressPool
        metadata: {name: main}
        spec:
          addresses: ["10.20.0.0/23"]
        """

    /// Applies deploy/kubernetes (namespace, CRD, RBAC, workloads) and a pool with kubectl.
    static func install(_ server: TestAPIServer, pool: String = pool) throws {
        try server.kubectl(["apply", "-f", "\(TestAPIServer.repository)/deploy/kubernetes/"])
        let path = "\(server.stateDirectory)/pool.yaml"
        try pool.write(toFile: path, atomically: true, encoding: .utf8)
        try server.kubectl(["apply", "-f", path])
    }

    /// Creates `count` Services of Switchyard's class (`prefix-0` …) with the Python client.
    static func createServices(
        _ server: TestAPIServer, prefix: String, count: Int, namespace: String = "default", port: Int = 80
    ) throws {
        try server.python(
            """
            import kubernetes
            kubernetes.config.load_kube_config()
            v1 = kubernetes.client.CoreV1Api()
            for i in range(\(count)):
                v1.create_namespaced_service("\(namespace)", {"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": f"\(prefix)-{i}"},
                    "spec": {"type": "LoadBalancer", "loadBalancerClass": "switchyard.io/lb",
                             "ports": [{"port": \(port), "protocol": "TCP"}], "selector": {"app": "x"}}})
            """)
    }

    /// name → ingress IPs, as the Python client reads them (an independent reader of our writes).
    static func addresses(_ server: TestAPIServer) throws -> [String: [String]] {
        let text = try server.python(
            """
            import json, kubernetes
            kubernetes.config.load_kube_config()
            out = {}
            for s in kubernetes.client.CoreV1Api().list_service_for_all_namespaces().items:
                ing = (s.status.load_balancer.ingress or []) if s.status and s.status.load_balancer else []
                out[s.metadata.namespace + "/" + s.metadata.name] = [i.ip for i in ing]
            print(json.dumps(out))
            """)
        return try JSONDecoder().decode([String: [String]].self, from: Data(text.utf8))
    }

    static func waitFor(
        _ what: String, seconds: Double = 60, _ condition: () throws -> Bool
    ) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw TestServerError("timed out waiting for \(what)")
    }

    static func duplicates(_ map: [String: [String]]) -> [String: [String]] {
        var holders: [String: [String]] = [:]
        for (service, ips) in map { for ip in ips { holders[ip, default: []].append(service) } }
        return holders.filter { $0.value.count > 1 }
    }

    @Test func twoHundredServicesKeepEveryAddressAcrossAKillMidAllocationAndARestart() async throws {
        try await TestAPIServer.with { server in
            try Self.install(server)
            // Five Services older than all others, not ours yet (ClusterIP): they become ours while
            // no controller runs, so the restarted one finds pending Services OLDER than the ones
            // holding addresses — allocated before the import, they would take those addresses.
            try server.python(
                """
                import kubernetes
                kubernetes.config.load_kube_config()
                v1 = kubernetes.client.CoreV1Api()
                for i in range(5):
                    v1.create_namespaced_service("default", {"metadata": {"name": f"old-{i}"},
                        "spec": {"ports": [{"port": 80}], "selector": {"app": "x"}}})
                """)
            try await Task.sleep(nanoseconds: 1_100_000_000) // a later creationTimestamp for the rest
            try Self.createServices(server, prefix: "svc", count: 200)
            // First controller: killed (SIGKILL) part way through allocating.
            let first = try ControllerProcess(server: server, identity: "a")
            // Its own log is the quick signal (a Python read takes longer than many writes do).
            for _ in 0..<3000 {
                if first.statusWriteTimes.count >= 40 { break }
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            first.kill9()
            let atKill = try Self.addresses(server).filter { !$0.value.isEmpty }
            #expect(atKill.count < 200, "the kill should land mid-allocation")
            // Second controller: imports what is there, allocates the rest.
            let second = try ControllerProcess(server: server, identity: "b")
            try await Self.waitFor("all 200") {
                try Self.addresses(server).filter { $0.key.hasPrefix("default/svc-") }.values.allSatisfy { !$0.isEmpty }
            }
            let full = try Self.addresses(server)
            for (service, ips) in atKill { #expect(full[service] == ips, "\(service) moved across the kill") }
            #expect(Self.duplicates(full).isEmpty)
            second.stop()
            // A restart with new pending Services (they would take the lowest free addresses — the
            // imported ones — if the import did not come first).
            try Self.createServices(server, prefix: "late", count: 5)
            try server.python(
                """
                import kubernetes
                kubernetes.config.load_kube_config()
                for i in range(5):
                    kubernetes.client.CoreV1Api().patch_namespaced_service(f"old-{i}", "default",
                        {"spec": {"type": "LoadBalancer", "loadBalancerClass": "switchyard.io/lb"}})
                """)
            let third = try ControllerProcess(server: server, identity: "c")
            try await Self.waitFor("the late and the old five") {
                try Self.addresses(server).values.allSatisfy { !$0.isEmpty }
            }
            let after = try Self.addresses(server)
            var changed = 0
            for (service, ips) in full where !ips.isEmpty && after[service] != ips { changed += 1 }
            #expect(changed == 0, "addresses changed across the restart")
            #expect(Self.duplicates(after).isEmpty, "duplicates: \(Self.duplicates(after))")
            third.stop()
        }
    }

    /// Two instances at once, restarted under them while Services arrive in bursts. Created within
    /// one second in descending name order, the bursts make a live allocator (arrival order) and a
    /// freshly started one (oldest first, then by name) decide differently — only the lease keeps
    /// them from both writing. With each instance on its own lease this test sees duplicates.
    @Test func twoControllersAtOnceNeverHandOutOneAddressTwice() async throws {
        let leases = ProcessInfo.processInfo.environment["SWITCHYARD_TEST_SEPARATE_LEASES"] != nil
        try await TestAPIServer.with { server in
            try Self.install(server)
            let watcher = try server.client()
            let seen = DuplicateWatch()
            let reflector = KubeReflector<Service>(client: watcher, watchTimeout: 60, logger: Logger(label: "watch"))
            let watch = Task { await reflector.run { event in seen.record(event) } }
            func start(_ identity: String) throws -> ControllerProcess {
                try ControllerProcess(
                    server: server, identity: identity, extra: leases ? ["--lease-name", "lease-\(identity)"] : [])
            }
            var running = [try start("a0"), try start("b0")]
            var all = running
            let rounds = 4
            for round in 0..<rounds {
                try server.python(
                    """
                    import kubernetes
                    kubernetes.config.load_kube_config()
                    v1 = kubernetes.client.CoreV1Api()
                    for i in reversed(range(30)):
                        v1.create_namespaced_service("default", {"metadata": {"name": f"r\(round)-{i:02}"},
                            "spec": {"type": "LoadBalancer", "loadBalancerClass": "switchyard.io/lb",
                                     "ports": [{"port": 80}], "selector": {"app": "x"}}})
                    """)
                // One instance dies mid-burst and a fresh one starts (cold: list, import, allocate).
                running[round % 2].kill9()
                running[round % 2] = try start("\(round % 2 == 0 ? "a" : "b")\(round + 1)")
                all.append(running[round % 2])
            }
            try await Self.waitFor("120 allocated") {
                try Self.addresses(server).values.filter { !$0.isEmpty }.count == rounds * 30
            }
            watch.cancel()
            _ = await watch.value
            for process in running { process.stop() }
            try await watcher.shutdown()
            #expect(seen.worst.isEmpty, "an address was held by two Services at once: \(seen.worst)")
            #expect(Self.duplicates(try Self.addresses(server)).isEmpty)
            #expect(seen.events >= rounds * 30)
            // One writer at a time: the instances' spans of status writes never overlap.
            let spans = all.map(\.statusWriteTimes).filter { !$0.isEmpty }.map { ($0.min()!, $0.max()!) }
            #expect(spans.count >= 2, "a takeover should have happened")
            for (i, a) in spans.enumerated() {
                for b in spans.dropFirst(i + 1) {
                    #expect(a.1 < b.0 || b.1 < a.0, "two instances wrote status at the same time: \(a) and \(b)")
                }
            }
        }
    }

    @Test func kubectlWaitSeesTheAddressAndThePolicyShowsInConditions() async throws {
        try await TestAPIServer.with { server in
            try Self.install(
                server,
                pool: """
                    apiVersion: switchyard.io/v1alpha1
                    kind: AddressPool
                    metadata: {name: small}
                    spec:
                      addresses: ["10.30.0.1-10.30.0.3"]
                    """)
            let controller = try ControllerProcess(server: server, identity: "solo")
            let manifest = """
                apiVersion: v1
                kind: Service
                metadata:
                  name: web
                  annotations: {switchyard.io/allow-shared-ip: "k"}
                spec:
                  type: LoadBalancer
                  loadBalancerClass: switchyard.io/lb
                  selector: {app: web}
                  ports: [{port: 80, protocol: TCP}]
                ---
                apiVersion: v1
                kind: Service
                metadata:
                  name: web-tls
                  annotations: {switchyard.io/allow-shared-ip: "k"}
                spec:
                  type: LoadBalancer
                  loadBalancerClass: switchyard.io/lb
                  selector: {app: web}
                  ports: [{port: 443, protocol: TCP}]
                ---
                apiVersion: v1
                kind: Service
                metadata:
                  name: other-class
                spec:
                  type: LoadBalancer
                  loadBalancerClass: example.com/lb
                  selector: {app: web}
                  ports: [{port: 80, protocol: TCP}]
                """
            let path = "\(server.stateDirectory)/svc.yaml"
            try manifest.write(toFile: path, atomically: true, encoding: .utf8)
            try server.kubectl(["apply", "-f", path])
            try server.kubectl([
                "wait", "--for=jsonpath={.status.loadBalancer.ingress[0].ip}=10.30.0.1", "service/web", "--timeout=30s",
            ])
            try server.kubectl([
                "wait", "--for=jsonpath={.status.loadBalancer.ingress[0].ip}=10.30.0.1", "service/web-tls",
                "--timeout=30s",
            ])
            try server.kubectl([
                "wait", "--for=condition=switchyard.io/AddressAssigned", "service/web", "--timeout=30s",
            ])
            // A requested address another Service holds (not shareable): a condition that says so.
            let wants = """
                apiVersion: v1
                kind: Service
                metadata:
                  name: wants-taken
                  annotations: {switchyard.io/loadBalancerIPs: "10.30.0.1"}
                spec:
                  type: LoadBalancer
                  loadBalancerClass: switchyard.io/lb
                  selector: {app: web}
                  ports: [{port: 81, protocol: TCP}]
                """
            try wants.write(toFile: path, atomically: true, encoding: .utf8)
            try server.kubectl(["apply", "-f", path])
            try await Self.waitFor("RequestedIPUnavailable") {
                let json = try server.kubectl(["get", "service", "wants-taken", "-o", "json"])
                return json.contains("RequestedIPUnavailable")
            }
            // The pool's status counts one address in use (shared by two Services) and two free.
            try await Self.waitFor("the pool's counts") {
                let counts = try server.kubectl([
                    "get", "addresspool", "small", "-o", "jsonpath={.status.assignedIPv4}/{.status.availableIPv4}",
                ])
                return counts == "1/2"
            }
            // The pool shrinks away from the live address: it is kept and marked, never moved.
            try server.kubectl([
                "patch", "addresspool", "small", "--type=merge", "-p",
                #"{"spec":{"addresses":["10.30.0.2-10.30.0.3"]}}"#,
            ])
            try await Self.waitFor("AddressOutsidePool") {
                try server.kubectl(["get", "service", "web", "-o", "json"]).contains("AddressOutsidePool")
            }
            #expect(try Self.addresses(server)["default/web"] == ["10.30.0.1"])
            // Another class is never touched, not even with a condition.
            let other = try server.kubectl(["get", "service", "other-class", "-o", "json"])
            #expect(!other.contains("switchyard.io/AddressAssigned") && !other.contains("ingress"))
            // Every change left an Event for kubectl describe.
            let events = try server.kubectl(["get", "events", "-o", "json"])
            #expect(events.contains("\"name\": \"web\""))
            controller.stop()
            #expect(controller.output.contains("lease released"))
            let holder = try server.kubectl([
                "get", "lease", "switchyard-controller", "-n", "switchyard-system", "-o",
                "jsonpath={.spec.holderIdentity}",
            ])
            #expect(holder.isEmpty, "a stopped controller hands its lease back (holder now \(holder))")
        }
    }
}

/// Every Service state seen through a watch, checked for an address held twice at any moment
/// (Services sharing by key excepted — these tests create none).
final class DuplicateWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var current: [String: [String]] = [:]
    private var _worst: [String: [String]] = [:]
    private var _events = 0

    var worst: [String: [String]] { lock.withLock { _worst } }
    var events: Int { lock.withLock { _events } }

    func record(_ event: InformerEvent<Service>) {
        lock.withLock {
            _events += 1
            switch event {
            case .listed(let items):
                current = Dictionary(items.map { (NamespacedName($0).description, Self.ips($0)) }) { $1 }
            case .upserted(let service): current[NamespacedName(service).description] = Self.ips(service)
            case .deleted(let service): current[NamespacedName(service).description] = nil
            }
            let duplicates = ControllerEndToEndTests.duplicates(current)
            if !duplicates.isEmpty { _worst.merge(duplicates) { $1 } }
        }
    }

    static func ips(_ service: Service) -> [String] { (service.status?.loadBalancer?.ingress ?? []).compactMap(\.ip) }
}
