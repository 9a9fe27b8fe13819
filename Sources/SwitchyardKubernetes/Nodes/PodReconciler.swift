import SwitchyardCore

/// The endpoint agent's decisions (pure; time is an input): which pods to set up, change or clean up, and
/// when to try again after a failure. The I/O side executes each action and reports how it went.
///
/// A pod's namespace may not exist yet when its endpoint appears (the CNI is still wiring it) or may be gone
/// before its endpoint is removed: a failed setup is retried with backoff; a cleanup of a pod whose namespace
/// is gone is done (there is nothing left to undo).
public struct PodReconciler: Sendable {
    public enum Action: Sendable, Hashable {
        /// Make the pod match the plan (it may hold an older plan: `previous`).
        case apply(PodPlan, previous: PodPlan?)
        /// Undo everything of `plan` in the pod.
        case remove(PodPlan)
    }

    public enum Outcome: Sendable, Hashable {
        case done
        /// Retry later (with backoff); the reason is logged.
        case failed(String)
    }

    /// What is in each pod as far as we know (after a restart: as the state file recorded it).
    public private(set) var applied: [IPAddress: PodPlan]
    public private(set) var desired: [IPAddress: PodPlan] = [:]
    /// Pods with a failed action, the time to retry, and the failures in a row.
    public private(set) var retries: [IPAddress: (at: Double, failures: Int)] = [:]
    private var inFlight: Set<IPAddress> = []

    public static let firstRetrySeconds = 0.5
    public static let maxRetrySeconds = 30.0

    public init(applied: [IPAddress: PodPlan] = [:]) { self.applied = applied }

    /// The wanted state changed: what to do now (pods with an action in flight or a pending retry wait).
    public mutating func desiredChanged(_ plans: [IPAddress: PodPlan], now: Double) -> [Action] {
        desired = plans
        for pod in retries.keys where plans[pod] == applied[pod] { retries[pod] = nil }
        return due(now: now)
    }

    /// An action finished.
    public mutating func finished(_ action: Action, _ outcome: Outcome, now: Double) -> [Action] {
        let pod: IPAddress
        switch action {
        case .apply(let plan, _):
            pod = plan.podAddress
            if outcome == .done { applied[pod] = plan }
        case .remove(let plan):
            pod = plan.podAddress
            if outcome == .done { applied[pod] = nil }
        }
        inFlight.remove(pod)
        switch outcome {
        case .done: retries[pod] = nil
        case .failed:
            let failures = (retries[pod]?.failures ?? 0) + 1
            let delay = min(Self.maxRetrySeconds, Self.firstRetrySeconds * Double(1 << min(failures - 1, 10)))
            retries[pod] = (now + delay, failures)
        }
        return due(now: now)
    }

    /// Time passed: retries that are due.
    public mutating func tick(now: Double) -> [Action] { due(now: now) }

    /// The earliest pending retry, for the I/O side's timer.
    public var nextRetry: Double? { retries.values.map(\.at).min() }

    private mutating func due(now: Double) -> [Action] {
        var actions: [Action] = []
        let pods = Set(desired.keys).union(applied.keys).subtracting(inFlight)
        for pod in pods.sorted() {
            if let retry = retries[pod], retry.at > now { continue }
            let want = desired[pod]
            let have = applied[pod]
            guard want != have else { continue }
            if let want {
                actions.append(.apply(want, previous: have))
            } else if let have {
                actions.append(.remove(have))
            }
            inFlight.insert(pod)
        }
        return actions
    }
}
