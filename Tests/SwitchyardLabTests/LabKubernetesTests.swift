import Foundation
import SwitchyardCore
import SwitchyardDatapath
import Testing

@testable import SwitchyardLab

/// The Kubernetes lab's decisions, without root: where pods go, what the slices say.
struct KubernetesLabClusterTests {
    @Test func podsSpreadOverWorkersAndReuseFreedSlots() throws {
        var cluster = KubernetesLabCluster(workers: 2)
        let pods = (0..<4).compactMap { _ in cluster.schedule("web") }
        #expect(pods.map(\.worker) == [1, 2, 1, 2])
        #expect(pods.map(\.address) == ["10.78.1.10", "10.78.2.10", "10.78.1.11", "10.78.2.11"])
        #expect(pods.map(\.namespaceSuffix) == ["w1-p1", "w2-p1", "w1-p2", "w2-p2"])
        let removed = cluster.remove("web-1")
        #expect(removed?.address == "10.78.1.10")
        let scheduled = cluster.schedule("web")
        let next = try #require(scheduled)
        // A new name, the freed slot on the emptier worker.
        #expect(next.name == "web-5" && next.worker == 1 && next.address == "10.78.1.10")
        let unknownRemoved = cluster.remove("web-99")
        let unknownTerminated = cluster.terminate("web-99")
        #expect(unknownRemoved == nil && !unknownTerminated)
    }

    @Test func theSliceListsReadyAndTerminatingPodsWithTheirConditions() throws {
        var cluster = KubernetesLabCluster(workers: 2)
        _ = cluster.schedule("web")
        _ = cluster.schedule("web")
        _ = cluster.schedule("api")
        let terminated = cluster.terminate("web-1")
        #expect(terminated)
        let slice = cluster.endpointSlice(for: "web")
        let metadata = try #require(slice["metadata"] as? [String: Any])
        #expect(metadata["name"] as? String == "web-lab")
        #expect((metadata["labels"] as? [String: String])?["kubernetes.io/service-name"] == "web")
        #expect(slice["addressType"] as? String == "IPv4")
        let endpoints = try #require(slice["endpoints"] as? [[String: Any]])
        #expect(endpoints.count == 2, "api's pod is not web's endpoint")
        let conditions = endpoints.compactMap { $0["conditions"] as? [String: Bool] }
        #expect(conditions[0] == ["ready": false, "serving": true, "terminating": true])
        #expect(conditions[1] == ["ready": true, "serving": true, "terminating": false])
        #expect(endpoints.map { $0["nodeName"] as? String } == ["w1", "w2"])
        #expect((endpoints[0]["targetRef"] as? [String: String])?["name"] == "web-1")
        let ports = try #require(slice["ports"] as? [[String: Any]])
        #expect(ports.first?["port"] as? Int == 8080 && ports.first?["protocol"] as? String == "TCP")
        // The JSON kubectl gets is stable: the same set writes the same file.
        #expect(try KubernetesLabCluster.json(slice) == KubernetesLabCluster.json(cluster.endpointSlice(for: "web")))
    }

    @Test func serviceObjectsCarryClassModeAffinityAndRanges() throws {
        var service = KubernetesLabCluster.Service(name: "web", mode: "stateful")
        let plain = KubernetesLabCluster.serviceObject(service)
        let spec = try #require(plain["spec"] as? [String: Any])
        #expect(spec["loadBalancerClass"] as? String == "switchyard.io/lb" && spec["type"] as? String == "LoadBalancer")
        #expect(spec["sessionAffinity"] == nil && spec["loadBalancerSourceRanges"] == nil)
        let port = try #require((spec["ports"] as? [[String: Any]])?.first)
        #expect(port["port"] as? Int == 80 && port["targetPort"] as? Int == 8080)
        let annotations = (plain["metadata"] as? [String: Any])?["annotations"] as? [String: String]
        #expect(annotations == ["switchyard.io/mode": "stateful"])
        service.sessionAffinityClientIP = true
        service.sourceRanges = ["192.0.2.0/24"]
        let shaped = try #require(KubernetesLabCluster.serviceObject(service)["spec"] as? [String: Any])
        #expect(shaped["sessionAffinity"] as? String == "ClientIP")
        #expect(shaped["loadBalancerSourceRanges"] as? [String] == ["192.0.2.0/24"])
        let status = try #require(
            KubernetesLabCluster.podStatus(
                .init(
                    name: "web-1", service: "web", worker: 2, slot: 3, state: .terminating))["status"] as? [String: Any]
        )
        #expect(status["podIP"] as? String == "10.78.2.12" && status["hostIP"] as? String == "10.77.2.32")
        #expect((status["conditions"] as? [[String: String]])?.first == ["type": "Ready", "status": "False"])
    }
}

enum KubernetesLabProbe {
    /// Root and BPF as every lab test, kubectl in the checkout's venv, and a binary whose agents
    /// speak Kubernetes (`agent --kubernetes`, `endpoint-agent`) for the tests that need them.
    static let reason: String? = {
        if let reason = LabProbe.reason { return reason }
        let lab = Lab(options: .init(), executable: LabProbe.executable)
        guard let repository = lab.repository,
            FileManager.default.isExecutableFile(atPath: "\(repository)/.venv-k8s/bin/kubectl")
        else { return "no .venv-k8s/bin/kubectl in the checkout: run scripts/py-env.sh" }
        return nil
    }()
    static let lbAgentReason: String? = {
        if let reason { return reason }
        let help = (try? NetworkNamespace.run([LabProbe.executable, "agent", "--help"])) ?? ""
        return help.contains("--kubernetes") ? nil : "this switchyard's agent has no --kubernetes yet"
    }()
    static let agentsReason: String? = {
        if let reason = lbAgentReason { return reason }
        guard (try? NetworkNamespace.run([LabProbe.executable, "endpoint-agent", "--help"])) != nil else {
            return "this switchyard has no endpoint-agent yet"
        }
        return nil
    }()

    static func lab(mode: ServiceMode = .stateless, agents: Bool = true, endpointAgents: Bool? = nil) -> Lab {
        var options = Lab.Options(mode: mode)
        options.kubernetes = true
        options.kubernetesAgents = agents
        options.endpointAgents = endpointAgents ?? agents
        return Lab(options: options, executable: LabProbe.executable)
    }

    static func teardown(_ lab: Lab) {
        lab.down()
        #expect(NetworkNamespace.list(prefix: lab.prefix).isEmpty, "namespaces left behind")
        #expect(!FileManager.default.fileExists(atPath: lab.dir), "lab directory left behind")
    }
}

/// The Kubernetes lab's own parts, agents or not: workers and pod networks, the API server on
/// the fabric, the controller's address assignment, Pods and EndpointSlices as the lab writes
/// them.
@Suite(
    .enabled(if: KubernetesLabProbe.reason == nil, Comment(rawValue: "skipped: \(KubernetesLabProbe.reason ?? "")")),
    .serialized)
struct LabKubernetesControlPlaneTests {
    @Test func addressesPodsAndSlices() throws {
        let lab = KubernetesLabProbe.lab(agents: false)
        defer { KubernetesLabProbe.teardown(lab) }
        try lab.up()
        let address = try lab.applyService(.init(name: "web", mode: "stateless"))
        #expect(address == "10.77.100.1", "the first of the lab's pool 10.77.100.0/27, .0 avoided: \(address)")
        let first = try lab.startPod("web")
        let second = try lab.startPod("web")
        #expect(first.worker != second.worker)
        // The pod network is routed: the client reaches a pod's server directly.
        let direct = try lab.inNS(
            lab.client, [LabProbe.executable, "lab-who", "--host", first.address, "--port", "8080"])
        let answer = try JSONDecoder().decode(WhoAnswer.self, from: Data(direct.utf8))
        #expect(answer == WhoAnswer(backend: first.name, client: "10.77.1.2"))
        try lab.terminatePod(first.name)
        let slice = try lab.kubectl(["get", "endpointslice", "web-lab", "-o", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(slice.utf8)) as? [String: Any])
        let endpoints = try #require(object["endpoints"] as? [[String: Any]])
        let byAddress = Dictionary(
            endpoints.compactMap { e in ((e["addresses"] as? [String])?.first).map { ($0, e) } },
            uniquingKeysWith: { a, _ in a })
        #expect((byAddress[first.address]?["conditions"] as? [String: Bool])?["terminating"] == true)
        #expect((byAddress[second.address]?["conditions"] as? [String: Bool])?["ready"] == true)
        #expect(byAddress[second.address]?["nodeName"] as? String == "w\(second.worker)")
        let pod = try lab.kubectl(["get", "pod", second.name, "-o", "jsonpath={.status.podIP} {.spec.nodeName}"])
        #expect(pod == "\(second.address) w\(second.worker)")
        try lab.stopPod(first.name, grace: 0.5)
        #expect(!NetworkNamespace.list(prefix: "\(lab.prefix)-w").contains("\(lab.prefix)-\(first.namespaceSuffix)"))
        let remaining = try lab.kubectl([
            "get", "endpointslice", "web-lab", "-o", "jsonpath={.endpoints[*].addresses[0]}",
        ])
        #expect(remaining == second.address)
    }
}

/// The LB nodes' half: `agent --kubernetes` turns the Service and its slice into a service with
/// the pods as backends (terminating → draining), and announces the address to the router only
/// while it has them; a deleted Service's address is withdrawn and goes back to the pool.
@Suite(
    .enabled(
        if: KubernetesLabProbe.lbAgentReason == nil,
        Comment(rawValue: "skipped: \(KubernetesLabProbe.lbAgentReason ?? "")")),
    .serialized)
struct LabKubernetesLBNodeTests {
    @Test func servicesAndSlicesBecomeAnnouncedServices() throws {
        let lab = KubernetesLabProbe.lab(mode: .stateful, endpointAgents: false)
        defer { KubernetesLabProbe.teardown(lab) }
        try lab.up()
        let address = try lab.applyService(.init(name: "web", mode: "stateful"))
        let pods = [try lab.startPod("web"), try lab.startPod("web")]
        try lab.waitForEndpoints("web")
        try lab.waitForRouterRoute(lab.ecmp)
        #expect(try lab.routerNextHops(address) == ["10.77.2.11", "10.77.2.12"])
        try lab.terminatePod(pods[0].name)
        try lab.waitForEndpoints("web") // pods[0] draining on every LB node
        let status = try lab.agentStatus(1)
        let web = try #require(status.services.first { $0.name.contains(" \(address):80") })
        #expect(web.mode == "stateful" && web.backends.allSatisfy { $0.port == 8080 }, "\(web)")
        let assigned = try lab.poolAssignedIPv4()
        try lab.deleteService("web")
        try lab.waitForRouterRoute(lab.ecmp) // no Service: the router routes nothing of the pool
        #expect(try lab.routerNextHops(address).isEmpty)
        let deadline = Date().addingTimeInterval(10)
        while try lab.poolAssignedIPv4() == assigned, Date() < deadline { usleep(200_000) }
        #expect(try lab.poolAssignedIPv4() == (assigned ?? 1) - 1, "the address went back to the pool")
    }
}

/// End to end through the LB nodes and into pods: Services from the API server, EndpointSlices
/// to backends, the Service address and decap inside the pods.
@Suite(
    .enabled(
        if: KubernetesLabProbe.agentsReason == nil,
        Comment(rawValue: "skipped: \(KubernetesLabProbe.agentsReason ?? "")")),
    .serialized)
struct LabKubernetesTests {
    static func run(_ scenario: KubernetesScenario, mode: ServiceMode, connections: Int = 60) throws -> ScenarioResult {
        let lab = KubernetesLabProbe.lab(mode: mode)
        defer { KubernetesLabProbe.teardown(lab) }
        try lab.up()
        return try lab.run(scenario, connections: connections)
    }

    /// Port 80 on the Service address reaches 8080 in a pod, which sees the client's own address.
    @Test func servicePortReachesThePodWithTheClientAddress() throws {
        let lab = KubernetesLabProbe.lab()
        defer { KubernetesLabProbe.teardown(lab) }
        try lab.up()
        let address = try lab.applyService(.init(name: "web", mode: "stateless"))
        let pods = [try lab.startPod("web"), try lab.startPod("web")]
        try lab.waitForRouterRoute(lab.ecmp)
        try lab.waitForEndpoints("web")
        let answer = try lab.who(address)
        #expect(pods.map(\.name).contains(answer.backend), "\(answer)")
        #expect(answer.client == "10.77.1.2", "DSR keeps the client's address: \(answer)")
        let answers = try lab.http(address, count: 20)
        #expect(answers.perBackend["failed"] == nil && answers.perBackend.values.reduce(0, +) == 20, "\(answers)")
    }

    /// ClientIP affinity: every connection of one client lands on one pod.
    @Test func sessionAffinityKeepsAClientOnOnePod() throws {
        let lab = KubernetesLabProbe.lab()
        defer { KubernetesLabProbe.teardown(lab) }
        try lab.up()
        var service = KubernetesLabCluster.Service(name: "web", mode: "stateless")
        service.sessionAffinityClientIP = true
        let address = try lab.applyService(service)
        for _ in 0..<3 { try lab.startPod("web") }
        try lab.waitForRouterRoute(lab.ecmp)
        try lab.waitForEndpoints("web")
        let answers = try lab.http(address, count: 20)
        #expect(answers.perBackend.count == 1 && answers.perBackend["failed"] == nil, "\(answers.perBackend)")
    }

    @Test(arguments: [ServiceMode.stateful, .stateless])
    func rollingUpdate(_ mode: ServiceMode) throws {
        let r = try Self.run(.rollingUpdate, mode: mode)
        #expect(r.established == 90, "60 at the start, 30 half way: \(r.perBackend)")
        #expect(r.terminatingSurvived == r.drained, "terminating pods keep their connections until they exit")
        if mode == .stateful {
            #expect(r.survived == r.established - r.expectedFailed, "\(r.failures)")
        } else {
            // Consistent hashing may move a flow whose entry an LB node lacks; reported, bounded.
            #expect(r.survived + r.failed == r.established)
            #expect(r.failed - r.expectedFailed <= r.established / 10, "\(r.failures)")
        }
        #expect(r.newConnections?["failed"] == nil, "\(r.newConnections ?? [:])")
    }

    /// A Service whose loadBalancerSourceRanges leave the client out gets no connection from it.
    @Test func sourceRangesKeepOutClientsNotListed() throws {
        let lab = KubernetesLabProbe.lab()
        defer { KubernetesLabProbe.teardown(lab) }
        try lab.up()
        var service = KubernetesLabCluster.Service(name: "web", mode: "stateless")
        service.sourceRanges = ["192.0.2.0/24"]
        let address = try lab.applyService(service)
        try lab.startPod("web")
        try lab.waitForRouterRoute(lab.ecmp)
        try lab.waitForEndpoints("web")
        let answers = try lab.http(address, count: 5)
        #expect(answers.perBackend == ["failed": 5], "\(answers.perBackend)")
        // The same Service once its ranges list the client's network: the rule, not a broken path, kept it out.
        service.sourceRanges = ["192.0.2.0/24", "10.77.1.0/24"]
        _ = try lab.applyService(service)
        let deadline = Date().addingTimeInterval(10)
        var admitted = try lab.http(address, count: 1)
        while admitted.perBackend["failed"] != nil, Date() < deadline {
            usleep(200_000)
            admitted = try lab.http(address, count: 1)
        }
        let after = try lab.http(address, count: 5)
        #expect(after.perBackend["failed"] == nil && after.perBackend.values.reduce(0, +) == 5, "\(after.perBackend)")
    }

    /// kube-proxy beside Switchyard, its rules written with iptables on the workers as kube-proxy (iptables
    /// mode) writes them: with `ipMode: VIP` it DNATs the Service address on every node — yet a packet
    /// delivered into a pod is not re-balanced (it crosses the node encapsulated to the pod's own address);
    /// its conntrack-INVALID drop (installed unless nf_conntrack_tcp_be_liberal=1) does kill the pods' replies,
    /// whose SYN-ACK is the first packet of their flow the node tracks; a raw-table NOTRACK for the pool's
    /// addresses (the README's advice) brings them back.
    @Test func kubeProxyRulesDoNotRebalanceAndItsInvalidDropNeedsTheReadmesFix() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/iptables") else {
            Issue.record("iptables is not installed (scripts/install-deps.sh installs it)")
            return
        }
        let lab = KubernetesLabProbe.lab()
        defer { KubernetesLabProbe.teardown(lab) }
        try lab.up()
        let address = try lab.applyService(.init(name: "web", mode: "stateless"))
        let pods = [try lab.startPod("web"), try lab.startPod("web")]
        #expect(Set(pods.map(\.worker)).count == 2, "one pod per worker")
        try lab.waitForRouterRoute(lab.ecmp)
        try lab.waitForEndpoints("web")
        for n in [1, 2] {
            try lab.inNS(
                lab.worker(n),
                [
                    "iptables", "-t", "nat", "-A", "PREROUTING", "-d", "\(address)/32", "-p", "tcp", "--dport", "80",
                    "-j", "DNAT", "--to-destination", "\(pods[0].address):8080",
                ])
        }
        let spread = try lab.http(address, count: 20)
        #expect(spread.perBackend["failed"] == nil && spread.perBackend.count == 2, "not all DNATed: \(spread)")
        #expect(try lab.who(address).client == "10.77.1.2")

        for n in [1, 2] {
            try lab.inNS(
                lab.worker(n),
                [
                    "iptables", "-A", "FORWARD", "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP",
                ])
        }
        let dropped = try lab.http(address, count: 4)
        #expect(dropped.perBackend == ["failed": 4], "kube-proxy's INVALID drop kills DSR replies: \(dropped)")

        for n in [1, 2] {
            try lab.inNS(
                lab.worker(n),
                [
                    "iptables", "-t", "raw", "-A", "PREROUTING", "-s", KubernetesLabCluster.poolRange, "-j", "NOTRACK",
                ])
        }
        let fixed = try lab.http(address, count: 10)
        #expect(fixed.perBackend["failed"] == nil && fixed.perBackend.values.reduce(0, +) == 10, "\(fixed)")
    }

    /// The endpoint agents killed (-9) and started again under traffic: from their state files they know
    /// what the pods hold, so they touch nothing, and every connection survives.
    @Test func endpointAgentRestartLeavesWorkingPodsAlone() throws {
        let lab = KubernetesLabProbe.lab()
        defer { KubernetesLabProbe.teardown(lab) }
        try lab.up()
        let address = try lab.applyService(.init(name: "web", mode: "stateless"))
        for _ in 0..<2 { try lab.startPod("web") }
        try lab.waitForRouterRoute(lab.ecmp)
        try lab.waitForEndpoints("web")
        let client = try ClientProcess(lab: lab, host: address, connections: 40)
        defer { if client.process.isRunning { client.process.terminate() } }
        _ = try client.next()
        var offsets: [Int: Int] = [:]
        for n in [1, 2] {
            for pid in lab.pids(lab.worker(n), matching: "endpoint-agent") { kill(pid, SIGKILL) }
            let deadline = Date().addingTimeInterval(5)
            while !lab.pids(lab.worker(n), matching: "endpoint-agent").isEmpty, Date() < deadline { usleep(50_000) }
            offsets[n] = (FileManager.default.contents(atPath: "\(lab.dir)/w\(n)-endpoint-agent.log") ?? Data()).count
            try lab.startEndpointAgent(n)
        }
        func restartedLog(_ n: Int) -> String {
            let data = FileManager.default.contents(atPath: "\(lab.dir)/w\(n)-endpoint-agent.log") ?? Data()
            return String(decoding: data.dropFirst(offsets[n] ?? 0), as: UTF8.self)
        }
        let deadline = Date().addingTimeInterval(15)
        while ![1, 2].allSatisfy({ restartedLog($0).contains("cluster state synced") }), Date() < deadline {
            usleep(100_000)
        }
        Thread.sleep(forTimeInterval: 1)
        for n in [1, 2] {
            let text = restartedLog(n)
            #expect(text.contains("cluster state synced"), "w\(n)'s agent restarted: \(text)")
            #expect(!text.contains("pod set up") && !text.contains("pod updated") && !text.contains("pod cleaned up"))
        }
        let report = try client.stop()
        #expect(report.established == 40 && report.survived == 40, "\(report.failures)")
    }
}
