import SwitchyardCore

/// Which VIPs this node announces over BGP (DESIGN "BGP"): only those it can forward right now —
/// ours by shard, programmed, attached, flow store loaded when stateful, at least one healthy
/// backend — and, while the node drains, first with GRACEFUL_SHUTDOWN (RFC 8326) for
/// `drainPeriod`, then not at all. Pure: facts and the time come in, a decision comes out; the
/// caller arms a timer for `reevaluateAt`.
public struct AnnouncementPolicy: Hashable, Sendable {
    /// How long a draining node keeps announcing with GRACEFUL_SHUTDOWN before it withdraws:
    /// long enough for the routers to converge on the other nodes.
    public var drainPeriod: Duration
    /// The node's shard; nil means the node announces only VIPs without a shard.
    public var nodeShard: UInt32?
    /// When draining began; nil while the node serves normally.
    public private(set) var drainingSince: Duration?

    public init(drainPeriod: Duration, nodeShard: UInt32? = nil) {
        self.drainPeriod = drainPeriod
        self.nodeShard = nodeShard
    }

    /// The operator (or shutdown) asked the node to drain. A second call keeps the first start,
    /// so repeating the request never prolongs the drain.
    public mutating func startDraining(at now: Duration) {
        if drainingSince == nil { drainingSince = now }
    }

    /// Back in service: announcements return to normal at the next evaluation.
    public mutating func stopDraining() {
        drainingSince = nil
    }

    /// The decision for every VIP in `vips` at `now`.
    public func decide(_ vips: [IPAddress: VIPAnnouncementFacts], at now: Duration) -> AnnouncementDecision {
        var decision = AnnouncementDecision()
        let drainEnds = drainingSince.map { $0 + drainPeriod }
        let drainOver = drainEnds.map { now >= $0 } ?? false
        for (vip, facts) in vips {
            if let reason = Self.unavailable(facts, nodeShard: nodeShard) {
                decision.withheld[vip] = reason
            } else if drainOver {
                decision.withheld[vip] = .draining
            } else {
                decision.announced[vip] = drainingSince == nil ? .normal : .gracefulShutdown
            }
        }
        if let drainEnds, !drainOver, !decision.announced.isEmpty { decision.reevaluateAt = drainEnds }
        return decision
    }

    /// The first reason, in `AnnouncementWithheldReason` order, that this node cannot forward the VIP.
    static func unavailable(_ facts: VIPAnnouncementFacts, nodeShard: UInt32?) -> AnnouncementWithheldReason? {
        if let shard = facts.shard, shard != nodeShard { return .otherShard }
        if !facts.programmed { return .notProgrammed }
        if !facts.attached { return .notAttached }
        if facts.needsFlowStore && !facts.flowStoreLoaded { return .storeNotLoaded }
        if facts.healthyBackends <= 0 { return .noHealthyBackend }
        if !facts.announced && facts.risingBackends > 0 { return .healthSettling }
        return nil
    }
}
