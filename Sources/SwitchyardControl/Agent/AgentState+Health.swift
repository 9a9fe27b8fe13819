import SwitchyardCore

extension AgentState {
    /// A probe of `key` that started at `startedAt` finished. Results for backends that left the
    /// config meanwhile are ignored. A change of health re-programs the datapath (the backend
    /// leaves or rejoins the ring; flows pointing at a down backend are re-picked).
    public mutating func probeReported(
        _ key: BackendKey, ok: Bool, detail: String, startedAt: Duration? = nil, at now: Duration
    ) -> [AgentAction] {
        guard let target = probeTargets[key] else { return [] }
        // Cut off from every router: a failed probe says nothing about the backend (see
        // AgentState+Isolation) — nor does one that was already running when the path returned
        // (it may have timed out on the cut, and reports after the cut healed).
        guard !isolated else { return [] }
        if !ok, let startedAt, let pathReturnedAt, startedAt <= pathReturnedAt { return [] }
        var machine = health[key] ?? HealthCheckStateMachine(rise: target.check.rise, fall: target.check.fall)
        let wasRising = machine.rising
        let change = ok ? machine.probeSucceeded() : machine.probeFailed(reason: detail)
        health[key] = machine
        guard case .changed(let from, let to, let reason)? = change else {
            // A backend that starts or stops coming back can hold back or release a VIP that
            // waits for its backends to settle (`healthSettling`).
            guard machine.rising != wasRising else { return [] }
            clock = max(clock, now)
            return reannounce()
        }
        let pass = "health \(target.service) \(key.backend) \(to.rawValue)"
        var fields = [
            "service": target.service, "backend": "\(key.backend)", "node": config.node.name,
            "old": from.rawValue, "new": to.rawValue, "reason": reason,
        ]
        // How long it was in the old state: tells a flapping backend from a long outage.
        if let since = healthChangedAt[key] { fields["old_for_ms"] = "\(Int((now - since) / .milliseconds(1)))" }
        healthChangedAt[key] = now
        var actions: [AgentAction] = [.log(.init(.notice, "backend health changed", fields))]
        clock = max(clock, now)
        // A VIP whose last backend failed is withdrawn now; one whose backend recovered is
        // announced once the ring that holds the backend is programmed.
        if to == .down { actions += reannounce() }
        guard programming == nil else { return actions + arm(.reprogram, after: .zero) }
        programming = Programming(purpose: .refresh, reason: pass)
        actions.append(.program(desiredTables(), reason: pass))
        return actions
    }

    /// Recomputes the probe targets from the config; health of backends that left is forgotten
    /// (a backend that comes back starts optimistic, like a new one). Emits the new set only
    /// when it changed.
    mutating func probeTargetsChanged() -> [AgentAction] {
        var targets: [BackendKey: ProbeTarget] = [:]
        for service in config.services {
            guard let check = service.healthCheck else { continue }
            for key in service.backendKeys {
                targets[key] = ProbeTarget(key: key, service: service.name, check: check)
            }
        }
        health = health.filter { targets[$0.key] != nil && targets[$0.key]?.check == probeTargets[$0.key]?.check }
        healthChangedAt = healthChangedAt.filter { health[$0.key] != nil }
        guard targets != probeTargets else { return [] }
        probeTargets = targets
        return [.runProbes(targets.values.sorted { $0.key < $1.key })]
    }
}
