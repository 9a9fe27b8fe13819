import Foundation
import SwitchyardDatapath

/// `lab up --kubernetes`: the LB tier as usual, but the backends are pods on worker nodes and the
/// LB nodes learn Services from a Kubernetes API server.
///
///     router ── br0 ── lb1 lb2 lb3  (agent --kubernetes: Services, EndpointSlices from the API)
///     10.77.2.1  │
///     API server :6443, controller, BIRD, Redis (all in the router namespace)
///                ├── w1 10.77.2.31 ── cni0 10.78.1.1/24 ── pods <prefix>-w1-p1 10.78.1.10, …
///                └── w2 10.77.2.32 ── cni0 10.78.2.1/24 ── pods <prefix>-w2-p1 10.78.2.10, …
///                    (endpoint-agent: the Service address and the decap program inside each pod)
///
/// The API server is the test one (Tests/kubernetes/apiserver): it runs no controllers, so the
/// lab itself plays the scheduler, the kubelet and the EndpointSlice controller
/// (`KubernetesLabCluster`). Workers forward with rp_filter off: a pod's DSR reply leaves with
/// the Service address as its source, which is no address of the worker's pod network — a CNI
/// must allow the same.
extension Lab {
    public func worker(_ n: Int) -> String { "\(prefix)-w\(n)" }
    func podNamespace(_ pod: KubernetesLabCluster.Pod) -> String { "\(prefix)-\(pod.namespaceSuffix)" }
    /// What the endpoint agent on worker `n` looks for in /run/netns.
    func podNamespacePrefix(worker n: Int) -> String { "\(prefix)-w\(n)-" }

    var workerIndices: [Int] { options.kubernetes && options.workers > 0 ? Array(1...options.workers) : [] }
    var backendIndices: [Int] { !options.kubernetes && options.backends > 0 ? Array(1...options.backends) : [] }

    public var kubeDirectory: String { "\(dir)/kube" }
    public var kubeconfig: String { "\(kubeDirectory)/kubeconfig" }
    public static let apiServerAddress = "10.77.2.1", apiServerPort = 6443

    /// The checkout the lab runs from: the test API server's package and the venv with kubectl
    /// (scripts/py-env.sh). `SWITCHYARD_REPOSITORY` overrides; otherwise the first directory
    /// above the executable holding Tests/kubernetes/apiserver.
    var repository: String? {
        if let path = ProcessInfo.processInfo.environment["SWITCHYARD_REPOSITORY"] { return path }
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Tests/kubernetes/apiserver").path) {
                return url.path
            }
            url.deleteLastPathComponent()
        }
        return nil
    }

    func kubernetesTools() throws -> (repository: String, venv: String) {
        guard let repository else {
            throw NetworkNamespace.CommandError(
                description: "the Kubernetes lab needs the checkout's Tests/kubernetes (none above \(executable)); "
                    + "set SWITCHYARD_REPOSITORY to the checkout")
        }
        let venv = "\(repository)/.venv-k8s"
        guard FileManager.default.isExecutableFile(atPath: "\(venv)/bin/kubectl") else {
            throw NetworkNamespace.CommandError(
                description: "no kubectl at \(venv)/bin/kubectl: run scripts/py-env.sh in \(repository) first")
        }
        return (repository, venv)
    }

    // MARK: - Workers and their pod networks

    /// Each worker: forwarding, rp_filter off (DSR replies), a bridge for its pods, its pod
    /// network routed by the router and the LB nodes through the worker's fabric address.
    func buildWorkers() throws {
        for n in workerIndices {
            let ns = worker(n)
            try sysctl(
                ns,
                [
                    "net.ipv4.ip_forward": "1", "net.ipv4.conf.all.rp_filter": "0",
                    "net.ipv4.conf.default.rp_filter": "0", "net.ipv4.conf.eth0.rp_filter": "0",
                ])
            try inNS(ns, ["ip", "link", "add", "cni0", "type", "bridge"])
            try inNS(ns, ["ip", "link", "set", "cni0", "mtu", "1600", "up"])
            try inNS(ns, ["ip", "addr", "add", "\(KubernetesLabCluster.workerPodGateway(n))/24", "dev", "cni0"])
            let via = KubernetesLabCluster.workerFabricAddress(n)
            for host in [router] + (1...options.lbNodes).map(lb) {
                try inNS(host, ["ip", "route", "add", KubernetesLabCluster.podNetwork(n), "via", via])
            }
        }
    }

    /// A pod's network namespace behind a veth on its worker's bridge, default route via the worker.
    func buildPodNetwork(_ pod: KubernetesLabCluster.Pod) throws {
        let ns = podNamespace(pod)
        _ = try gated { try NetworkNamespace(exactName: ns) }
        try sysctl(ns, ["net.ipv6.conf.all.accept_dad": "0", "net.ipv6.conf.default.accept_dad": "0"])
        let host = "p\(pod.slot)"
        // The slot's previous pod: its namespace is deleted, but the kernel tears a namespace (and the veth
        // end in it) down asynchronously, later under load. A CNI would pick a fresh name; the lab waits for
        // the old link, then removes it itself.
        let deadline = Date().addingTimeInterval(3)
        while (try? inNS(worker(pod.worker), ["ip", "link", "show", host])) != nil {
            guard Date() < deadline else {
                log("pod \(pod.name): \(host) of the slot's previous pod still there after 3 s; removing it")
                _ = try? inNS(worker(pod.worker), ["ip", "link", "del", host])
                break
            }
            usleep(50_000)
        }
        try sh([
            "ip", "-n", worker(pod.worker), "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ])
        try inNS(worker(pod.worker), ["ip", "link", "set", host, "mtu", "1600", "master", "cni0", "up"])
        try inNS(worker(pod.worker), ["ethtool", "-K", host, "tx", "off"])
        try inNS(ns, ["ip", "link", "set", "eth0", "mtu", "1600", "up"])
        try inNS(ns, ["ethtool", "-K", "eth0", "tx", "off"])
        try inNS(ns, ["ip", "addr", "add", "\(pod.address)/24", "dev", "eth0"])
        try inNS(ns, ["ip", "route", "add", "default", "via", KubernetesLabCluster.workerPodGateway(pod.worker)])
        // A pod's address is reused once its pod has gone (as a CNI's IPAM does): the worker must
        // not keep sending to the old pod's MAC until its neighbour entry times out (seen: 7 of 40
        // new connections lost 3 s after a rolling update), so the entry goes with the old pod.
        try inNS(worker(pod.worker), ["ip", "neigh", "flush", "to", pod.address])
    }

    // MARK: - Control plane

    /// The test API server on the router's fabric address, the controller beside it, the
    /// namespace and CRD from deploy/kubernetes, and the lab's AddressPool.
    func startControlPlane() throws {
        let (repository, venv) = try kubernetesTools()
        try FileManager.default.createDirectory(atPath: "\(kubeDirectory)/home", withIntermediateDirectories: true)
        try spawn(
            router,
            [
                "env", "PYTHONPATH=\(repository)/Tests/kubernetes", "\(venv)/bin/python", "-m", "apiserver",
                "--state-dir", kubeDirectory, "--listen", "\(Self.apiServerAddress):\(Self.apiServerPort)",
                "--bookmark-interval", "1",
            ], log: "kube/apiserver")
        let deadline = Date().addingTimeInterval(30)
        while !(((try? String(contentsOfFile: "\(dir)/kube/apiserver.log", encoding: .utf8)) ?? "").contains("READY")) {
            guard Date() < deadline else {
                throw NetworkNamespace.CommandError(
                    description: "the test API server did not start in 30 s; see \(dir)/kube/apiserver.log")
            }
            usleep(100_000)
        }
        for manifest in ["00-namespace.yaml", "10-crd-addresspools.yaml"] {
            try kubectl(["apply", "-f", "\(repository)/deploy/kubernetes/\(manifest)"])
        }
        try apply(KubernetesLabCluster.poolObject(), name: "pool")
        try spawn(
            router,
            [
                executable, "controller", "--kubeconfig", kubeconfig, "--identity", "lab", "--lease-duration", "4",
                "--renew-deadline", "3", "--retry-period", "0.5", "--metrics", "",
            ], log: "kube/controller")
        log(
            "control plane: API server https://\(Self.apiServerAddress):\(Self.apiServerPort), controller, pool "
                + KubernetesLabCluster.poolRange)
    }

    /// kubectl v1.37 from the venv, in the router namespace (the only place that reaches the API
    /// server besides the lab's nodes), with a discovery cache of the lab's own.
    @discardableResult
    public func kubectl(_ arguments: [String]) throws -> String {
        let (_, venv) = try kubernetesTools()
        return try inNS(
            router,
            ["env", "HOME=\(kubeDirectory)/home", "\(venv)/bin/kubectl", "--kubeconfig", kubeconfig] + arguments)
    }

    /// `kubectl apply` of one object, through a file named for it under the lab's kube directory.
    func apply(_ object: [String: Any], name: String) throws {
        let path = "\(kubeDirectory)/\(name).json"
        try KubernetesLabCluster.json(object).write(toFile: path, atomically: true, encoding: .utf8)
        try kubectl(["apply", "-f", path])
    }

    // MARK: - Agents

    /// An LB node's agent: Services and EndpointSlices from the API server, node settings from
    /// its file (which lists no services).
    var kubernetesAgentArguments: [String] {
        options.kubernetes && options.kubernetesAgents ? ["--kubernetes", "--kubeconfig", kubeconfig] : []
    }

    /// The endpoint agent on worker `n`: puts each local endpoint's Service addresses and the
    /// decap program into its pod.
    func startEndpointAgent(_ n: Int) throws {
        try spawn(
            worker(n),
            [
                executable, "endpoint-agent", "--kubeconfig", kubeconfig, "--node-name", "w\(n)",
                "--netns-dir", "/run/netns", "--netns-prefix", podNamespacePrefix(worker: n),
                "--pin-directory", "\(dir)/bpffs/w\(n)", "--state-file", "\(dir)/w\(n)-endpoint-agent.json",
                "--path-mtu", "1600", "--metrics", "127.0.0.1:9401",
            ], log: "w\(n)-endpoint-agent")
    }
}
