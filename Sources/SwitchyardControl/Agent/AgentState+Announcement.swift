import SwitchyardCore

/// BGP announcements (DESIGN "BGP"): the agent gathers what it knows about each VIP into
/// `VIPAnnouncementFacts`, `AnnouncementPolicy` decides, and a changed decision becomes one
/// `.announce` of the whole route set. Only when the node speaks BGP (`node.bgp`).
extension AgentState {
    /// The drain period `config` asks for.
    static func drainPeriod(_ config: SwitchyardConfig) -> Duration {
        .milliseconds(Int64(((config.node.bgp?.drainSeconds ?? BGPSettings.defaultDrainSeconds) * 1000).rounded()))
    }

    // MARK: - Events

    /// The XDP program is attached: packets for the VIPs reach this node's datapath.
    public mutating func datapathAttached() -> [AgentAction] {
        attached = true
        return reannounce()
    }

    /// The flow store's entries are in the flow table: stateful VIPs may take moved connections.
    public mutating func flowStoreWasLoaded() -> [AgentAction] {
        flowStoreLoaded = true
        return reannounce()
    }

    /// The operator (`switchyard drain`) or shutdown asked the node to leave: its routes go out
    /// with GRACEFUL_SHUTDOWN for the drain period, then are withdrawn. Forwarding is untouched.
    public mutating func drainRequested(at now: Duration, trigger: String) -> [AgentAction] {
        clock = max(clock, now)
        guard announcementPolicy.drainingSince == nil else {
            return [.log(.init(.info, "already draining", ["trigger": trigger, "node": config.node.name]))]
        }
        announcementPolicy.startDraining(at: clock)
        let seconds = config.node.bgp?.drainSeconds ?? BGPSettings.defaultDrainSeconds
        return [
            .log(
                .init(
                    .notice, "node draining: VIPs announced with GRACEFUL_SHUTDOWN, then withdrawn",
                    [
                        "trigger": trigger,
                        "drain_seconds": seconds == seconds.rounded() ? "\(Int(seconds))" : "\(seconds)",
                        "node": config.node.name,
                    ]))
        ] + reannounce()
    }

    /// Back in service: the VIPs this node can forward are announced normally again.
    public mutating func undrainRequested(at now: Duration, trigger: String) -> [AgentAction] {
        clock = max(clock, now)
        guard announcementPolicy.drainingSince != nil else {
            return [.log(.init(.info, "not draining", ["trigger": trigger, "node": config.node.name]))]
        }
        announcementPolicy.stopDraining()
        return [.log(.init(.notice, "drain cancelled", ["trigger": trigger, "node": config.node.name]))]
            + reannounce()
    }

    /// Time has passed (the executor's shutdown waited out the drain): decide again at `now`.
    public mutating func reevaluateAnnouncements(at now: Duration) -> [AgentAction] {
        clock = max(clock, now)
        return reannounce()
    }

    /// Whether the node is draining, and whether any VIP still goes out with GRACEFUL_SHUTDOWN
    /// (the shutdown waits for the drain period only then).
    public var draining: Bool { announcementPolicy.drainingSince != nil }
    public var announcingGracefulShutdown: Bool { announcementDecision.announced.values.contains(.gracefulShutdown) }

    // MARK: - Deciding

    /// After a config change: the policy follows `node.shard` and the drain period, and VIPs
    /// that left, changed shard or communities are re-decided.
    mutating func configChangedAnnouncements() -> [AgentAction] {
        announcementPolicy.nodeShard = config.node.shard
        announcementPolicy.drainPeriod = Self.drainPeriod(config)
        return reannounce()
    }

    /// Every VIP of the config with what this node knows about it. A VIP's services pool their
    /// facts: programmed only when all are, healthy backends summed (the VIP is worth announcing
    /// while any of its ports can be served), stateful if any is.
    func announcementFacts() -> [IPAddress: VIPAnnouncementFacts] {
        var facts: [IPAddress: VIPAnnouncementFacts] = [:]
        for service in config.services {
            let vip = service.key.vip
            var vipFacts =
                facts[vip]
                ?? VIPAnnouncementFacts(
                    programmed: true, attached: attached, needsFlowStore: false, flowStoreLoaded: flowStoreLoaded,
                    healthyBackends: 0, shard: service.shard,
                    announced: announcementDecision.announced[vip] != nil)
            vipFacts.programmed = vipFacts.programmed && programmedServices.contains(service.key)
            vipFacts.needsFlowStore = vipFacts.needsFlowStore || service.mode == .stateful
            vipFacts.healthyBackends += service.backends.count(where: { backend in
                let key = BackendKey(service: service.key, backend: backend.identity)
                return DesiredState.effectiveState(backend, health: health[key]?.health) == .up
            })
            vipFacts.risingBackends += service.backends.count(where: { backend in
                let key = BackendKey(service: service.key, backend: backend.identity)
                return backend.state == .up && health[key]?.rising == true
            })
            facts[vip] = vipFacts
        }
        return facts
    }

    /// The routes for an announced set: host routes, next hop of the VIP's family, the
    /// communities of every service of the VIP, GRACEFUL_SHUTDOWN while draining.
    func routes(for announced: [IPAddress: AnnouncementMode], bgp: BGPSettings) -> [IPPrefix: RouteAnnouncement] {
        var routes: [IPPrefix: RouteAnnouncement] = [:]
        for (vip, mode) in announced {
            guard let prefix = RouteAnnouncement.hostRoute(vip),
                let nextHop = bgp.nextHop(for: vip.family, node: config.node)
            else { continue }
            let services = config.services.filter { $0.key.vip == vip }
            var communities = services.flatMap(\.communities)
            if mode == .gracefulShutdown { communities.append(.gracefulShutdown) }
            routes[prefix] = RouteAnnouncement(
                nextHop: nextHop, communities: communities, largeCommunities: services.flatMap(\.largeCommunities))
        }
        return routes
    }

    /// Decides at `clock`; logs each VIP whose outcome changed, emits `.announce` when the
    /// routes changed, and arms `.reannounce` for when time alone changes the decision.
    mutating func reannounce() -> [AgentAction] {
        guard let bgp = config.node.bgp else { return [] }
        let decision = announcementPolicy.decide(announcementFacts(), at: clock)
        var actions = announcementLogs(from: announcementDecision, to: decision)
        announcementDecision = decision
        let routes = routes(for: decision.announced, bgp: bgp)
        if routes != announcedRoutes {
            announcedRoutes = routes
            actions.append(.announce(routes))
        }
        if let due = decision.reevaluateAt {
            actions += arm(.reannounce, after: max(.zero, due - clock))
        }
        return actions
    }

    /// One line per VIP whose announcement changed, with the reason an operator needs.
    private func announcementLogs(from old: AnnouncementDecision, to new: AnnouncementDecision) -> [AgentAction] {
        var records: [AgentLogRecord] = []
        let vips = Set(old.announced.keys).union(old.withheld.keys).union(new.announced.keys).union(new.withheld.keys)
        for vip in vips.sorted() {
            let before = VIPOutcome(old, vip)
            let after = VIPOutcome(new, vip)
            guard before != after else { continue }
            var fields = [
                "vip": "\(vip)", "old": before.description, "new": after.description, "node": config.node.name,
            ]
            switch after {
            case .announced(.normal): records.append(.init(.notice, "VIP announced", fields))
            case .announced(.gracefulShutdown):
                records.append(.init(.notice, "VIP announced with GRACEFUL_SHUTDOWN", fields))
            case .withheld(let reason):
                fields["reason"] = reason.rawValue
                // A VIP never announced and still not announced is not news (start-up order).
                if case .announced = before {
                    records.append(.init(.notice, "VIP withdrawn", fields))
                } else {
                    records.append(.init(.info, "VIP withheld", fields))
                }
            case .unknown:
                let withdrawn = before == .announced(.normal) || before == .announced(.gracefulShutdown)
                records.append(
                    .init(withdrawn ? .notice : .info, withdrawn ? "VIP withdrawn" : "VIP forgotten", fields))
            }
        }
        return records.map { .log($0) }
    }
}

/// One VIP's outcome in a decision, for comparing two decisions.
private enum VIPOutcome: Equatable, CustomStringConvertible {
    case announced(AnnouncementMode)
    case withheld(AnnouncementWithheldReason)
    case unknown

    init(_ decision: AnnouncementDecision, _ vip: IPAddress) {
        if let mode = decision.announced[vip] {
            self = .announced(mode)
        } else if let reason = decision.withheld[vip] {
            self = .withheld(reason)
        } else {
            self = .unknown
        }
    }

    var description: String {
        switch self {
        case .announced(.normal): "announced"
        case .announced(.gracefulShutdown): "announced-gshut"
        case .withheld(let reason): "withheld-\(reason.rawValue)"
        case .unknown: "none"
        }
    }
}
