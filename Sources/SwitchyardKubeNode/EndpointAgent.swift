import Foundation
import Logging
import SwitchyardCore
import SwitchyardKubernetes

/// What the endpoint agent does inside a pod; the real one enters the pod's network namespace
/// (`PodDSRNetwork`), tests may count calls.
public protocol PodNetwork: Sendable {
    /// Make the pod match `plan`; `previous` is what it held (nil: nothing, or unknown after a restart).
    func apply(_ plan: PodPlan, previous: PodPlan?) throws
    /// Undo `plan` in the pod. A pod whose namespace is gone counts as done.
    func remove(_ plan: PodPlan) throws
}

/// `switchyard endpoint-agent`: keeps every pod of this node that backs a Service of ours ready for DSR —
/// the Service addresses on its `lo`, decap and port mapping on its interface — and undoes it when the
/// endpoint goes. Decisions are `PodPlanner` (what each pod needs) and `PodReconciler` (what to do, retries);
/// this actor executes them, one pod at a time, and records what it did in a state file so a restarted agent
/// knows what to clean up and leaves working pods as they are.
public actor EndpointAgent {
    let watcher: ClusterWatcher
    let planner: PodPlanner
    let network: any PodNetwork
    let stateFile: String?
    let logger: Logger
    private var reconciler: PodReconciler
    private let origin = ContinuousClock.now
    public private(set) var appliedCount = 0
    public private(set) var failedCount = 0

    public init(
        watcher: ClusterWatcher, planner: PodPlanner, network: any PodNetwork, stateFile: String?, logger: Logger
    ) {
        self.watcher = watcher
        self.planner = planner
        self.network = network
        self.stateFile = stateFile
        self.logger = logger
        reconciler = PodReconciler(applied: stateFile.map(Self.loadState) ?? [:])
    }

    private var now: Double {
        let elapsed = ContinuousClock.now - origin
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// The pods set up now (for status and tests).
    public var applied: [IPAddress: PodPlan] { reconciler.applied }

    /// Prometheus text for `/metrics`.
    public var prometheusText: String {
        """
        # HELP switchyard_endpoint_pods_configured Pods of this node set up as DSR backends.
        # TYPE switchyard_endpoint_pods_configured gauge
        switchyard_endpoint_pods_configured \(reconciler.applied.count)
        # HELP switchyard_endpoint_pods_desired Pods of this node that back a Service of ours.
        # TYPE switchyard_endpoint_pods_desired gauge
        switchyard_endpoint_pods_desired \(reconciler.desired.count)
        # HELP switchyard_endpoint_pods_retrying Pods whose last setup or cleanup failed and will be retried.
        # TYPE switchyard_endpoint_pods_retrying gauge
        switchyard_endpoint_pods_retrying \(reconciler.retries.count)
        # HELP switchyard_endpoint_actions_total Pod setups, updates and cleanups, by outcome.
        # TYPE switchyard_endpoint_actions_total counter
        switchyard_endpoint_actions_total{outcome="done"} \(appliedCount)
        switchyard_endpoint_actions_total{outcome="failed"} \(failedCount)

        """
    }

    /// Runs until the calling task is cancelled.
    public func run() async {
        let changes = await watcher.subscribe()
        await watcher.synced()
        await reconcile(trigger: "start")
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await trigger in changes { await self.reconcile(trigger: trigger) }
            }
            group.addTask {
                while !Task.isCancelled {
                    let wait = await self.secondsToNextRetry()
                    try? await Task.sleep(for: .milliseconds(Int(wait * 1000)))
                    await self.retryDue()
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    func reconcile(trigger: String) async {
        let plans = planner.plans(await watcher.objects)
        await execute(reconciler.desiredChanged(plans, now: now), trigger: trigger)
    }

    func retryDue() async { await execute(reconciler.tick(now: now), trigger: "retry") }

    func secondsToNextRetry() -> Double {
        guard let next = reconciler.nextRetry else { return 1 }
        return min(1, max(0.05, next - now))
    }

    /// Pod work waits for a `pod-dsr` child process: it blocks, so it runs on its own thread, one action at a
    /// time, never on the concurrency pool's few threads.
    private static let podQueue = DispatchQueue(label: "switchyard.endpoint-agent.pods")

    private func perform(_ action: PodReconciler.Action) async -> PodReconciler.Outcome {
        let network = network
        return await withCheckedContinuation { continuation in
            Self.podQueue.async {
                do {
                    switch action {
                    case .apply(let plan, let previous): try network.apply(plan, previous: previous)
                    case .remove(let plan): try network.remove(plan)
                    }
                    continuation.resume(returning: .done)
                } catch {
                    continuation.resume(returning: .failed("\(error)"))
                }
            }
        }
    }

    private func execute(_ actions: [PodReconciler.Action], trigger: String) async {
        var pending = actions
        while !pending.isEmpty {
            let action = pending.removeFirst()
            let outcome = await perform(action)
            log(action, outcome, trigger: trigger)
            pending += reconciler.finished(action, outcome, now: now)
        }
        if !actions.isEmpty, let stateFile { Self.saveState(reconciler.applied, to: stateFile, logger: logger) }
    }

    private func log(_ action: PodReconciler.Action, _ outcome: PodReconciler.Outcome, trigger: String) {
        let (verb, plan): (String, PodPlan) =
            switch action {
            case .apply(let plan, let previous): (previous == nil ? "pod set up" : "pod updated", plan)
            case .remove(let plan): ("pod cleaned up", plan)
            }
        var metadata: Logger.Metadata = [
            "pod": "\(plan.podAddress)", "addresses": "\(plan.addresses.map(\.description).joined(separator: ","))",
            "mappings": "\(plan.mappings.map(\.description).joined(separator: ","))",
            "services": "\(plan.services.map(\.description).joined(separator: ","))", "trigger": "\(trigger)",
        ]
        switch outcome {
        case .done:
            appliedCount += 1
            logger.info("\(verb)", metadata: metadata)
        case .failed(let reason):
            failedCount += 1
            metadata["error"] = "\(reason)"
            logger.warning("\(verb) failed; retrying", metadata: metadata)
        }
    }

    // MARK: State file

    struct StoredPlan: Codable {
        var pod: String
        var addresses: [String]
        var mappings: [StoredMapping]
        var services: [String]
    }

    struct StoredMapping: Codable {
        var address: String
        var proto: String
        var servicePort: UInt16
        var targetPort: UInt16
    }

    static func loadState(_ path: String) -> [IPAddress: PodPlan] {
        guard let data = FileManager.default.contents(atPath: path),
            let stored = try? JSONDecoder().decode([StoredPlan].self, from: data)
        else { return [:] }
        var plans: [IPAddress: PodPlan] = [:]
        for entry in stored {
            guard let pod = IPAddress(entry.pod) else { continue }
            let mappings = entry.mappings.compactMap { m -> PortMapping? in
                guard let address = IPAddress(m.address), let proto = L4Protocol(name: m.proto) else { return nil }
                return PortMapping(
                    vip: address, proto: proto, servicePort: m.servicePort, targetPort: m.targetPort)
            }
            let services = entry.services.compactMap { text -> NamespacedName? in
                let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
                return parts.count == 2 ? NamespacedName(namespace: parts[0], name: parts[1]) : nil
            }
            plans[pod] = PodPlan(
                podAddress: pod, addresses: entry.addresses.compactMap { IPAddress($0) }, mappings: mappings,
                services: services)
        }
        return plans
    }

    static func saveState(_ plans: [IPAddress: PodPlan], to path: String, logger: Logger) {
        let stored = plans.values.sorted { $0.podAddress < $1.podAddress }.map { plan in
            StoredPlan(
                pod: plan.podAddress.description, addresses: plan.addresses.map(\.description),
                mappings: plan.mappings.map {
                    StoredMapping(
                        address: $0.vip.description, proto: "\($0.proto)", servicePort: $0.servicePort,
                        targetPort: $0.targetPort)
                }, services: plan.services.map(\.description))
        }
        do {
            let data = try JSONEncoder().encode(stored)
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            logger.error("cannot save the endpoint agent's state", metadata: ["file": "\(path)", "error": "\(error)"])
        }
    }
}
