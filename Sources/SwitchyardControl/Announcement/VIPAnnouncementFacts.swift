import SwitchyardCore

/// What the agent knows about one VIP when it decides whether this node may announce it. Plain
/// facts, gathered by the agent from the datapath, the flow store and the health checks; the
/// decision itself is `AnnouncementPolicy`'s.
public struct VIPAnnouncementFacts: Hashable, Sendable {
    /// The VIP's services are written into the datapath maps.
    public var programmed: Bool
    /// The XDP program is attached to the interface the VIP's traffic arrives on.
    public var attached: Bool
    /// A service of this VIP keeps flows in the shared store (stateful): it must not take traffic
    /// before the store's entries are loaded, or moved flows break (DESIGN: "loads … before it
    /// announces").
    public var needsFlowStore: Bool
    /// The store's entries for this VIP's services are loaded into the flow table.
    public var flowStoreLoaded: Bool
    /// Backends currently up; a VIP with none would black-hole its traffic here.
    public var healthyBackends: Int
    /// The shard the VIP belongs to; nil means every shard announces it.
    public var shard: UInt32?
    /// Backends down whose latest probes succeed (they come back after `rise` in a row).
    public var risingBackends: Int
    /// The VIP is announced now (the previous decision).
    public var announced: Bool

    public init(
        programmed: Bool, attached: Bool, needsFlowStore: Bool = false, flowStoreLoaded: Bool = false,
        healthyBackends: Int, shard: UInt32? = nil, risingBackends: Int = 0, announced: Bool = false
    ) {
        self.programmed = programmed
        self.attached = attached
        self.needsFlowStore = needsFlowStore
        self.flowStoreLoaded = flowStoreLoaded
        self.healthyBackends = healthyBackends
        self.shard = shard
        self.risingBackends = risingBackends
        self.announced = announced
    }
}

/// Why a VIP is not announced by this node; the first that applies, in the order of the cases.
public enum AnnouncementWithheldReason: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// The VIP belongs to another shard than this node's (checked first: it is simply not ours).
    case otherShard
    case notProgrammed
    case notAttached
    case storeNotLoaded
    case noHealthyBackend
    /// Not announced yet, and some backends are coming back (probes succeed, `rise` not reached):
    /// after an outage of this node's own (a cut link fails every probe at once) its rings would
    /// hold only the first backends to rise, and connections on the others would be sent
    /// elsewhere. It waits until its view of the backends has settled.
    case healthSettling
    /// The node is draining and the GRACEFUL_SHUTDOWN period is over.
    case draining

    public var description: String { rawValue }
}

/// How an announced VIP goes out.
public enum AnnouncementMode: Hashable, Sendable {
    /// A plain announcement.
    case normal
    /// Marked GRACEFUL_SHUTDOWN (RFC 8326, community 65535:0): routers move traffic to other
    /// nodes before the withdraw, so no flow is cut by a routing change it did not have to see.
    case gracefulShutdown
}
