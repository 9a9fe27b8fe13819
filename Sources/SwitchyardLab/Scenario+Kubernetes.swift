import Foundation
import SwitchyardCore
import SwitchyardDatapath

/// A change to a Kubernetes workload or to the LB tier, made while connections to a Service are
/// held open (`lab scenario k8s-… --kubernetes`), every connection accounted for.
public enum KubernetesScenario: String, CaseIterable, Sendable {
    case scale = "k8s-scale"
    case rollingUpdate = "k8s-rolling-update"
    case podKill = "k8s-pod-kill"
    case serviceDelete = "k8s-service-delete"
    case lbNodeChange = "k8s-lb-node-change"

    public var summary: String {
        switch self {
        case .scale:
            "web scales from 4 to 6 pods, a second batch of connections opens, then back to 4 (the two new "
                + "pods terminate and exit)"
        case .rollingUpdate:
            "web's 4 pods are replaced one by one (new pod ready, old pod terminating, old pod exits after "
                + "its grace period); a second batch of connections opens half way"
        case .podKill: "one of web's pods is killed outright; it leaves the EndpointSlice a second later"
        case .serviceDelete:
            "a second Service (api, with its own connections) is deleted: its address is withdrawn from BGP "
                + "and goes back to the pool; web's connections carry on"
        case .lbNodeChange: "lb3 joins the ECMP group, then lb2 leaves it"
        }
    }

    /// Pods of `web` before the change.
    static let replicas = 4
    /// How long a terminating pod keeps serving before it exits (its terminationGracePeriodSeconds).
    static let graceSeconds = 3.0
}

extension Lab {
    /// Holds `connections` connections to Service web, makes the change, keeps talking, then
    /// checks every connection. Connections to a pod that exits are expected to end with it
    /// (`drained`); `terminating_survived` counts those still answering just before the exit.
    public func run(_ scenario: KubernetesScenario, connections: Int) throws -> ScenarioResult {
        guard options.kubernetes else {
            throw NetworkNamespace.CommandError(
                description: "\(scenario.rawValue) runs on a lab built with --kubernetes")
        }
        let started = Date()
        let web = KubernetesLabCluster.Service(name: "web", mode: options.mode.rawValue)
        let address = try applyService(web)
        for _ in 0..<KubernetesScenario.replicas { try startPod("web") }
        try waitForRouterRoute(ecmp)
        try waitForEndpoints("web")
        var api: (address: String, client: ClientProcess)?
        if scenario == .serviceDelete {
            let apiAddress = try applyService(KubernetesLabCluster.Service(name: "api", mode: options.mode.rawValue))
            for _ in 0..<2 { try startPod("api") }
            try waitForRouterRoute(ecmp)
            try waitForEndpoints("api")
            api = (apiAddress, try ClientProcess(lab: self, host: apiAddress, connections: connections / 4))
            _ = try api?.client.next()
        }
        var clients = [try ClientProcess(lab: self, host: address, connections: connections)]
        defer {
            for c in clients where c.process.isRunning { c.process.terminate() }
            if let api, api.client.process.isRunning { api.client.process.terminate() }
        }
        let established = try clients[0].next().perBackend ?? [:]
        log(
            "\(scenario.rawValue): \(established.values.reduce(0, +)) connections established "
                + "\(established.sorted { $0.key < $1.key })")
        Thread.sleep(forTimeInterval: 1)
        log("\(scenario.rawValue): \(scenario.summary)")

        var exited: Set<String> = []
        var drainedAlive = 0
        var withdraw: Double?
        var released: Bool?
        /// Terminates `name`, lets it drain, counts its connections still alive, and stops it.
        func retire(_ name: String) throws {
            try terminatePod(name)
            try waitForEndpoints(cluster.pod(named: name)?.service ?? "web")
            try stopPod(name, grace: KubernetesScenario.graceSeconds) {
                for c in clients {
                    c.send("alive")
                    drainedAlive += try c.next().perBackend?[name] ?? 0
                }
            }
            exited.insert(name)
        }
        switch scenario {
        case .scale:
            let added = [try startPod("web"), try startPod("web")]
            try waitForEndpoints("web")
            // A second batch while 6 pods serve, so the two that go again have connections to drain.
            let second = try ClientProcess(lab: self, host: address, connections: connections / 2)
            clients.append(second)
            let opened = try second.next().perBackend ?? [:]
            log("scale: second batch \(opened.sorted { $0.key < $1.key })")
            Thread.sleep(forTimeInterval: 2)
            for pod in added { try retire(pod.name) }
            try waitForEndpoints("web")
        case .rollingUpdate:
            let old = cluster.pods(of: "web").map(\.name)
            for (step, name) in old.enumerated() {
                try startPod("web")
                try waitForEndpoints("web")
                try retire(name)
                try waitForEndpoints("web")
                if step == 1 {
                    let second = try ClientProcess(lab: self, host: address, connections: connections / 2)
                    clients.append(second)
                    let opened = try second.next().perBackend ?? [:]
                    log("rolling update: second batch \(opened.sorted { $0.key < $1.key })")
                }
            }
        case .podKill:
            if let victim = cluster.pods(of: "web").first?.name {
                try killPod(victim)
                exited.insert(victim)
                try waitForEndpoints("web")
            }
        case .serviceDelete:
            guard let api else { break }
            let assignedBefore = try poolAssignedIPv4()
            let watcher = try RouteChangeWatcher(namespace: router)
            defer { watcher.stop() }
            let since = Date()
            try deleteService("api")
            withdraw = try timeRouterChange(
                watcher, vips: [api.address], since: since, timeout: 15,
                failure: "the router still routes \(api.address)"
            ) { try routerNextHops(api.address).isEmpty }
            for pod in cluster.pods(of: "api") {
                try removePodQuietly(pod.name)
                exited.insert(pod.name)
            }
            let deadline = Date().addingTimeInterval(10)
            repeat {
                if let before = assignedBefore, let now = try poolAssignedIPv4() {
                    released = now < before
                    if now < before { break }
                }
                usleep(200_000)
            } while Date() < deadline
            clients.append(api.client)
        case .lbNodeChange:
            try setECMP([1, 2, 3])
            Thread.sleep(forTimeInterval: 2)
            try setECMP([1, 3])
        }
        Thread.sleep(forTimeInterval: 3)
        clients[0].send("probe 40")
        let newConnections = try clients[0].next().perBackend

        var result = ScenarioResult(
            scenario: scenario.rawValue, mode: options.mode.rawValue,
            store: options.mode == .stateful ? options.store.rawValue : nil)
        result.newConnections = newConnections
        result.withdrawSeconds = withdraw.map { ($0 * 1000).rounded() / 1000 }
        result.addressReleased = released
        if options.routing != .static { result.routing = "\(options.routing)" }
        for c in clients { result.add(try c.stop()) }
        clients = []
        api = nil
        result.expectedFailed = exited.reduce(0) { $0 + (result.perBackend[$1] ?? 0) }
        // Pods that terminate and then exit: scale, rolling update. A killed pod or a deleted
        // Service's pods do not drain.
        let drains = scenario != .podKill && scenario != .serviceDelete
        result.drained = drains ? result.expectedFailed : nil
        result.terminatingSurvived = drains ? drainedAlive : nil
        result.durationSeconds = (Date().timeIntervalSince(started) * 10).rounded() / 10
        log(
            "\(scenario.rawValue): \(result.survived)/\(result.established) survived, \(result.failed) failed "
                + "(\(result.expectedFailed) expected, on pods that exited)")
        return result
    }

    /// A deleted Service's pods go with its Deployment: no slice to keep up to date any more.
    private func removePodQuietly(_ name: String) throws {
        guard let pod = cluster.pod(named: name) else { return }
        for pid in pids(podNamespace(pod), matching: "lab-server") { kill(pid, SIGKILL) }
        NetworkNamespace.delete(named: podNamespace(pod))
        cluster.remove(name)
        try kubectl(["delete", "pod", name, "-n", KubernetesLabCluster.namespace, "--ignore-not-found"])
    }
}
