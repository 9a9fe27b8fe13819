import Foundation

/// The Kubernetes lab's workload as plain values: which pods run on which worker, in what state,
/// and every object the lab writes for them (Pods, their status, one EndpointSlice per Service,
/// the Services and the AddressPool). The test API server runs no controllers, so the lab plays
/// the scheduler, the kubelet and the EndpointSlice controller; the decisions live here, pure and
/// tested without root, and `Lab+KubernetesPods` only executes them.
///
///     worker wN (10.77.2.3N on br0) ── cni0 10.78.N.1/24 ── pod <prefix>-wN-pK  10.78.N.(9+K)
public struct KubernetesLabCluster: Sendable, Hashable {
    public struct Pod: Sendable, Hashable {
        public enum State: String, Sendable, Hashable {
            /// Serving and in the slice as ready: takes new connections.
            case ready
            /// Being stopped: ready false, serving and terminating true in the slice, so the agents
            /// keep its connections but send it no new ones, until it exits.
            case terminating
        }

        /// `<service>-<serial>`, unique over the lab's life (a replacement never reuses a name).
        public var name: String
        public var service: String
        public var worker: Int
        /// K of `<prefix>-w<N>-p<K>`; the address is 10.78.N.(9+K).
        public var slot: Int
        public var state: State

        public var address: String { KubernetesLabCluster.podAddress(worker: worker, slot: slot) }
        /// The network namespace's name without the lab prefix: `w1-p3`.
        public var namespaceSuffix: String { "w\(worker)-p\(slot)" }
    }

    /// A Service the lab asks for: port 80 → targetPort 8080, of Switchyard's class.
    public struct Service: Sendable, Hashable {
        public var name: String
        public var mode: String
        public var sessionAffinityClientIP = false
        public var sourceRanges: [String] = []

        public init(name: String, mode: String) {
            self.name = name
            self.mode = mode
        }
    }

    public static let namespace = "default"
    public static let servicePort = 80, targetPort = 8080
    public static let loadBalancerClass = "switchyard.io/lb"
    public static let modeAnnotation = "switchyard.io/mode"
    public static let poolName = "lab"
    public static let poolRange = "10.77.100.0/27"
    /// Slots per worker: addresses .10 to .59 of its /24.
    public static let slotsPerWorker = 50

    public static func podAddress(worker: Int, slot: Int) -> String { "10.78.\(worker).\(9 + slot)" }
    public static func workerFabricAddress(_ worker: Int) -> String { "10.77.2.\(30 + worker)" }
    public static func podNetwork(_ worker: Int) -> String { "10.78.\(worker).0/24" }
    public static func workerPodGateway(_ worker: Int) -> String { "10.78.\(worker).1" }

    public let workers: Int
    public private(set) var pods: [Pod] = []
    private var serial = 0

    public init(workers: Int) { self.workers = max(workers, 1) }

    public func pods(of service: String) -> [Pod] { pods.filter { $0.service == service } }
    public func pod(named name: String) -> Pod? { pods.first { $0.name == name } }

    /// Places a new ready pod of `service` on the worker with the fewest pods (the lowest number
    /// on a tie), in that worker's lowest free slot; nil when every slot is taken.
    public mutating func schedule(_ service: String) -> Pod? {
        let load = (1...workers).map { worker in (worker, pods.filter { $0.worker == worker }.count) }
        guard let worker = load.min(by: { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) })?.0 else { return nil }
        let taken = Set(pods.filter { $0.worker == worker }.map(\.slot))
        guard let slot = (1...Self.slotsPerWorker).first(where: { !taken.contains($0) }) else { return nil }
        serial += 1
        let pod = Pod(name: "\(service)-\(serial)", service: service, worker: worker, slot: slot, state: .ready)
        pods.append(pod)
        return pod
    }

    /// The pod stops taking new connections; false when there is no such pod.
    @discardableResult
    public mutating func terminate(_ name: String) -> Bool {
        guard let index = pods.firstIndex(where: { $0.name == name }) else { return false }
        pods[index].state = .terminating
        return true
    }

    /// The pod has exited: out of the slice, its slot free again.
    @discardableResult
    public mutating func remove(_ name: String) -> Pod? {
        guard let index = pods.firstIndex(where: { $0.name == name }) else { return nil }
        return pods.remove(at: index)
    }

    // MARK: - Objects

    /// The EndpointSlice the EndpointSlice controller would keep for `service`: every pod of it,
    /// ready or terminating (KEP-1672: a terminating endpoint stays while it serves, with
    /// ready false), in name order so an unchanged set applies as no change.
    public func endpointSlice(for service: String) -> [String: Any] {
        let endpoints: [[String: Any]] = pods(of: service).sorted { $0.name < $1.name }.map { pod in
            [
                "addresses": [pod.address],
                "nodeName": "w\(pod.worker)",
                "targetRef": ["kind": "Pod", "namespace": Self.namespace, "name": pod.name],
                "conditions": [
                    "ready": pod.state == .ready, "serving": true, "terminating": pod.state == .terminating,
                ],
            ] as [String: Any]
        }
        return [
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": [
                "name": "\(service)-lab", "namespace": Self.namespace,
                "labels": [
                    "kubernetes.io/service-name": service,
                    "endpointslice.kubernetes.io/managed-by": "lab.switchyard.io",
                ],
            ] as [String: Any],
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": [["name": "http", "port": Self.targetPort, "protocol": "TCP"] as [String: Any]],
        ]
    }

    /// The Pod object as a Deployment would create it, already bound to its worker.
    public static func podObject(_ pod: Pod) -> [String: Any] {
        [
            "apiVersion": "v1", "kind": "Pod",
            "metadata": ["name": pod.name, "namespace": namespace, "labels": ["app": pod.service]] as [String: Any],
            "spec": [
                "nodeName": "w\(pod.worker)",
                "containers": [
                    [
                        "name": "server", "image": "switchyard-lab-server",
                        "ports": [["name": "http", "containerPort": targetPort, "protocol": "TCP"] as [String: Any]],
                    ] as [String: Any]
                ],
            ] as [String: Any],
        ]
    }

    /// The status the kubelet would write: running, with its address, ready unless terminating.
    public static func podStatus(_ pod: Pod) -> [String: Any] {
        let ready = pod.state == .ready ? "True" : "False"
        return [
            "status": [
                "phase": "Running", "podIP": pod.address, "podIPs": [["ip": pod.address]],
                "hostIP": workerFabricAddress(pod.worker),
                "conditions": [["type": "Ready", "status": ready], ["type": "ContainersReady", "status": ready]],
            ] as [String: Any]
        ]
    }

    public static func serviceObject(_ service: Service) -> [String: Any] {
        var spec: [String: Any] = [
            "type": "LoadBalancer", "loadBalancerClass": loadBalancerClass, "selector": ["app": service.name],
            "ports": [
                ["name": "http", "port": servicePort, "targetPort": targetPort, "protocol": "TCP"] as [String: Any]
            ],
        ]
        if service.sessionAffinityClientIP { spec["sessionAffinity"] = "ClientIP" }
        if !service.sourceRanges.isEmpty { spec["loadBalancerSourceRanges"] = service.sourceRanges }
        return [
            "apiVersion": "v1", "kind": "Service",
            "metadata": [
                "name": service.name, "namespace": namespace, "annotations": [modeAnnotation: service.mode],
            ] as [String: Any],
            "spec": spec,
        ]
    }

    public static func poolObject() -> [String: Any] {
        [
            "apiVersion": "switchyard.io/v1alpha1", "kind": "AddressPool",
            // avoidBuggyIPs: no .0 or .255 address (MetalLB's meaning), so the first Service gets .1.
            "metadata": ["name": poolName], "spec": ["addresses": [poolRange], "avoidBuggyIPs": true] as [String: Any],
        ]
    }

    /// JSON for `kubectl apply -f` (JSON is YAML), keys sorted so equal objects write equal files.
    public static func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}
