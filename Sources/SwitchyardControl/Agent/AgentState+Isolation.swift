import SwitchyardCore

/// A node cut off from its routers (every BFD session has lost its peer) is the one thing its own
/// health checks cannot tell apart from dead backends: a cut link fails every probe at once. Were
/// it to act on them, its rings would shrink to whatever backends its probes reached first when
/// the link came back, and the connections the routers then send it would be re-picked onto the
/// wrong backends. So while isolated it ignores probe results, and on isolation it forgets its
/// health view — every backend back to the optimistic start a new node has — and re-programs
/// the full rings. When the path returns, probes start over: a backend that really died meanwhile
/// is taken out after `fall` failed probes, as on a freshly started node. BFD usually detects the
/// cut first (300 ms × 3 by default); probes that fail `fall` times just before it only take
/// backends out until the reset. Without BFD nothing changes. Probes already running when the
/// path returned are not believed either (`pathReturnedAt`): their failures may be the cut's. The
/// agent hands path changes over with the time its sessions saw them, ahead of any probe result
/// that arrives after them.
extension AgentState {
    /// Every configured BFD peer's path is down.
    public var isolated: Bool {
        let peers = Set(config.node.bgp?.peers.filter { $0.bfd != nil }.map(\.address) ?? [])
        return !peers.isEmpty && peers.isSubset(of: bfdPathsDown)
    }

    /// BFD says the path to `peer` failed (`up: false`, a path loss) or works again.
    public mutating func bfdPathChanged(peer: IPAddress, up: Bool, at now: Duration) -> [AgentAction] {
        clock = max(clock, now)
        let wasIsolated = isolated
        if up { bfdPathsDown.remove(peer) } else { bfdPathsDown.insert(peer) }
        switch (wasIsolated, isolated) {
        case (false, true):
            let forgotten = health.values.filter { $0.health == .down }.count
            health = [:]
            healthChangedAt = [:]
            var actions: [AgentAction] = [
                .log(
                    .init(
                        .warning, "cut off from every router (BFD): health checks paused, health view reset",
                        ["node": config.node.name, "backends_down_forgotten": "\(forgotten)"]))
            ]
            actions += reannounce()
            let reason = "isolated: health view reset"
            guard programming == nil else { return actions + arm(.reprogram, after: .zero) }
            programming = Programming(purpose: .refresh, reason: reason)
            actions.append(.program(desiredTables(), reason: reason))
            return actions
        case (true, false):
            pathReturnedAt = now
            return [
                .log(
                    .init(
                        .notice, "a router is reachable again (BFD): health checks resume from optimistic",
                        ["node": config.node.name, "peer": "\(peer)"]))
            ]
        default:
            return []
        }
    }
}
