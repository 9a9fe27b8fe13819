import Foundation
import SwitchyardControl
import SwitchyardCore
import SwitchyardDatapath

/// What `lab-who` prints: the pod that answered and the client address it saw.
public struct WhoAnswer: Sendable, Codable, Equatable {
    public var backend: String
    public var client: String
    public init(backend: String, client: String) {
        self.backend = backend
        self.client = client
    }
}

/// The lab as scheduler, kubelet and EndpointSlice controller (`KubernetesLabCluster` decides):
/// pods made, marked terminating, stopped and killed; Services applied and deleted; and waits
/// until the agents have acted on each change, judged by what they report and by the router.
extension Lab {
    // MARK: - Services

    /// Applies the Service and waits until the controller has assigned it an address; the address.
    @discardableResult
    public func applyService(_ service: KubernetesLabCluster.Service, timeout: Double = 30) throws -> String {
        try apply(KubernetesLabCluster.serviceObject(service), name: "svc-\(service.name)")
        try apply(cluster.endpointSlice(for: service.name), name: "slice-\(service.name)")
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let text = try kubectl([
                "get", "service", service.name, "-n", KubernetesLabCluster.namespace,
                "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}",
            ]).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty {
                serviceAddresses[service.name] = text
                log("service \(service.name): address \(text) assigned")
                return text
            }
            guard Date() < deadline else {
                throw NetworkNamespace.CommandError(
                    description: "service \(service.name) got no address in \(Int(timeout)) s; "
                        + "see \(dir)/kube/controller.log")
            }
            usleep(200_000)
        }
    }

    /// Deletes the Service and its slice (the EndpointSlice controller would); its address is
    /// no longer one the router should route.
    public func deleteService(_ name: String) throws {
        try kubectl(["delete", "service", name, "-n", KubernetesLabCluster.namespace, "--wait=false"])
        try kubectl([
            "delete", "endpointslice", "\(name)-lab", "-n", KubernetesLabCluster.namespace, "--ignore-not-found",
        ])
        serviceAddresses[name] = nil
    }

    /// The pool's `status.assignedIPv4` as the controller wrote it (nil before its first write).
    func poolAssignedIPv4() throws -> Int? {
        let text = try kubectl([
            "get", "addresspool", KubernetesLabCluster.poolName, "-o", "jsonpath={.status.assignedIPv4}",
        ])
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    // MARK: - Pods

    /// A new pod of `service`: its namespace and server, the Pod object with the kubelet's status,
    /// then the slice with it ready. Returns once the server listens.
    @discardableResult
    public func startPod(_ service: String) throws -> KubernetesLabCluster.Pod {
        guard let pod = cluster.schedule(service) else {
            throw NetworkNamespace.CommandError(description: "no free pod slot for \(service) on any worker")
        }
        try buildPodNetwork(pod)
        try spawn(
            podNamespace(pod),
            [executable, "lab-server", "--name", pod.name, "--port", "\(KubernetesLabCluster.targetPort)"],
            log: "pod-\(pod.name)")
        try waitForPort(podNamespace(pod), KubernetesLabCluster.targetPort)
        try apply(KubernetesLabCluster.podObject(pod), name: "pod-\(pod.name)")
        try writePodStatus(pod)
        try apply(cluster.endpointSlice(for: service), name: "slice-\(service)")
        log("pod \(pod.name) ready on w\(pod.worker) at \(pod.address)")
        return pod
    }

    func writePodStatus(_ pod: KubernetesLabCluster.Pod) throws {
        try kubectl([
            "patch", "pod", pod.name, "-n", KubernetesLabCluster.namespace, "--subresource=status", "--type=merge",
            "-p", try KubernetesLabCluster.json(KubernetesLabCluster.podStatus(pod)),
        ])
    }

    /// The first step of a pod's deletion: not ready, still serving, terminating.
    public func terminatePod(_ name: String) throws {
        guard cluster.terminate(name), let pod = cluster.pod(named: name) else {
            throw NetworkNamespace.CommandError(description: "no pod \(name) to terminate")
        }
        try writePodStatus(pod)
        try apply(cluster.endpointSlice(for: pod.service), name: "slice-\(pod.service)")
        log("pod \(name) terminating")
    }

    /// Established connections the pod's server holds.
    func podConnections(_ pod: KubernetesLabCluster.Pod) -> Int {
        let text =
            (try? inNS(podNamespace(pod), ["ss", "-Htn", "state", "established", "( sport = :8080 or sport = :80 )"]))
            ?? ""
        return text.split(separator: "\n").count
    }

    /// Waits until the pod's connections are done or `grace` seconds passed, then the pod exits:
    /// its server is killed, its namespace deleted, it leaves the slice and the Pod object goes.
    /// `before` runs just before the exit (the scenario counts what is still alive).
    public func stopPod(_ name: String, grace: Double, before: () throws -> Void = {}) throws {
        guard let pod = cluster.pod(named: name) else {
            throw NetworkNamespace.CommandError(description: "no pod \(name) to stop")
        }
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline, podConnections(pod) > 0 { usleep(200_000) }
        try before()
        try removePod(pod, reason: "exited after its grace period")
    }

    /// The pod dies at once (its node loses it): connections to it are lost; after `notice`
    /// seconds (the kubelet's and the controller's reaction) it leaves the slice.
    public func killPod(_ name: String, notice: Double = 1) throws {
        guard let pod = cluster.pod(named: name) else {
            throw NetworkNamespace.CommandError(description: "no pod \(name) to kill")
        }
        for pid in pids(podNamespace(pod), matching: "lab-server") { kill(pid, SIGKILL) }
        NetworkNamespace.delete(named: podNamespace(pod))
        log("pod \(name) killed")
        Thread.sleep(forTimeInterval: notice)
        try removePod(pod, reason: "killed")
    }

    private func removePod(_ pod: KubernetesLabCluster.Pod, reason: String) throws {
        for pid in pids(podNamespace(pod), matching: "lab-server") { kill(pid, SIGKILL) }
        NetworkNamespace.delete(named: podNamespace(pod))
        _ = try? inNS(worker(pod.worker), ["ip", "neigh", "flush", "to", pod.address])
        cluster.remove(pod.name)
        try apply(cluster.endpointSlice(for: pod.service), name: "slice-\(pod.service)")
        try kubectl(["delete", "pod", pod.name, "-n", KubernetesLabCluster.namespace, "--ignore-not-found"])
        log("pod \(pod.name) \(reason); out of the slice")
    }

    // MARK: - Waiting for the agents

    /// Until every LB node's agent has the service at `address` with exactly its pods as
    /// backends (`up` for ready pods, `draining` for terminating ones), and every ready pod has
    /// the address on its loopback (the endpoint agent's work).
    public func waitForEndpoints(_ service: String, timeout: Double = 20) throws {
        guard let address = serviceAddresses[service] else {
            throw NetworkNamespace.CommandError(description: "service \(service) has no address yet")
        }
        var want: [String: String] = [:]
        for pod in cluster.pods(of: service) {
            want[pod.address] = pod.state == .ready ? BackendState.up.rawValue : BackendState.draining.rawValue
        }
        let deadline = Date().addingTimeInterval(timeout)
        var last = "no answer"
        for i in 1...options.lbNodes {
            while true {
                if let status = try? agentStatus(i) {
                    // Named `<namespace>/<name> <address>:<port>/<protocol>` by the agent.
                    let have = status.services.filter { $0.name.contains(" \(address):") }.flatMap(\.backends)
                    let seen = Dictionary(have.map { ($0.address, $0.configured) }, uniquingKeysWith: { a, _ in a })
                    if seen == want { break }
                    last = "\(seen.sorted { $0.key < $1.key })"
                }
                guard Date() < deadline else {
                    throw NetworkNamespace.CommandError(
                        description: "lb\(i) did not take \(service)'s endpoints \(want.sorted { $0.key < $1.key }) "
                            + "in \(Int(timeout)) s (it has \(last)); see \(dir)/lb\(i).log")
                }
                usleep(100_000)
            }
        }
        for pod in cluster.pods(of: service)
        where pod.state == .ready && options.endpointAgents {
            while !((try? inNS(podNamespace(pod), ["ip", "-4", "addr", "show", "dev", "lo"])) ?? "").contains(address) {
                guard Date() < deadline else {
                    throw NetworkNamespace.CommandError(
                        description: "pod \(pod.name) did not get \(address) on lo in \(Int(timeout)) s; "
                            + "see \(dir)/w\(pod.worker)-endpoint-agent.log")
                }
                usleep(100_000)
            }
        }
    }

    /// One `WHO` from the client namespace to the Service's address, port 80.
    public func who(_ address: String) throws -> WhoAnswer {
        let out = try inNS(
            client, [executable, "lab-who", "--host", address, "--port", "\(KubernetesLabCluster.servicePort)"])
        return try JSONDecoder().decode(WhoAnswer.self, from: Data(out.utf8))
    }
}
