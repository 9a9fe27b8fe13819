/// What `switchyard status` shows, as the admin API sends it (JSON).
public struct AgentStatus: Sendable, Codable, Equatable {
    public struct BackendStatus: Sendable, Codable, Equatable {
        public var address: String
        public var port: UInt16
        public var index: UInt32
        public var weight: UInt16
        public var configured: String
        public var health: String?
        public var effective: String
        public var packets: UInt64
        public var bytes: UInt64
        public var newFlows: UInt64

        public init(
            address: String, port: UInt16, index: UInt32, weight: UInt16, configured: String, health: String?,
            effective: String, packets: UInt64, bytes: UInt64, newFlows: UInt64
        ) {
            self.address = address
            self.port = port
            self.index = index
            self.weight = weight
            self.configured = configured
            self.health = health
            self.effective = effective
            self.packets = packets
            self.bytes = bytes
            self.newFlows = newFlows
        }
    }

    public struct ServiceStatus: Sendable, Codable, Equatable {
        public var name: String
        public var key: String
        public var id: UInt32
        public var mode: String
        public var flowKey: String
        public var encap: String
        public var packets: UInt64
        public var newFlows: UInt64
        public var tooBig: UInt64
        public var backends: [BackendStatus]

        public init(
            name: String, key: String, id: UInt32, mode: String, flowKey: String, encap: String, packets: UInt64,
            newFlows: UInt64, tooBig: UInt64, backends: [BackendStatus]
        ) {
            self.name = name
            self.key = key
            self.id = id
            self.mode = mode
            self.flowKey = flowKey
            self.encap = encap
            self.packets = packets
            self.newFlows = newFlows
            self.tooBig = tooBig
            self.backends = backends
        }
    }

    public var node: String
    public var interface: String?
    public var xdpMode: String?
    public var reusedPinnedMaps: Bool
    public var configFile: String
    public var reloadsOK: Int
    public var reloadsFailed: Int
    public var ringRebuilds: Int
    /// Stateful mode (nil when no service is stateful).
    public var flowSharing: FlowSharing?
    public var services: [ServiceStatus]
    public var drops: [String: UInt64]
    public var events: [String: UInt64]
    /// Programming passes the datapath refused (each is retried or rolled back).
    public var programmingFailures = 0
    /// Saves of the id allocation that failed (retried; indices not yet durable meanwhile).
    public var allocationSaveFailures = 0
    /// Backend indices removed from the config whose flows are not yet purged.
    public var retiredBackends = 0
    /// Sessions and announcements; nil when the node speaks no BGP.
    public var bgp: BGPStatus?

    public init(
        node: String, interface: String?, xdpMode: String?, reusedPinnedMaps: Bool, configFile: String, reloadsOK: Int,
        reloadsFailed: Int, ringRebuilds: Int, flowSharing: FlowSharing?, services: [ServiceStatus],
        drops: [String: UInt64], events: [String: UInt64]
    ) {
        self.node = node
        self.interface = interface
        self.xdpMode = xdpMode
        self.reusedPinnedMaps = reusedPinnedMaps
        self.configFile = configFile
        self.reloadsOK = reloadsOK
        self.reloadsFailed = reloadsFailed
        self.ringRebuilds = ringRebuilds
        self.flowSharing = flowSharing
        self.services = services
        self.drops = drops
        self.events = events
    }
}

/// Stateful mode's traffic with the flow store, as counts since the agent started.
public struct FlowSharing: Codable, Sendable, Equatable {
    /// "redis HOST:PORT" or "embedded PATH".
    public var store: String
    /// False while the store cannot be reached (forwarding continues on local entries).
    public var storeReachable = true
    /// New entries written (and announced), refreshes of live entries, ends (FIN/RST),
    /// entries purged because their backend was removed.
    public var published = 0, refreshed = 0, ended = 0, purged = 0
    /// Entries installed from other nodes or the store; records for entries already present
    /// (an owner's refresh: their protection is extended); records naming an unknown service or
    /// backend; entries that found their sets full of busy flows and went to the overflow map
    /// instead (the datapath looks there for stateful flows with no way).
    public var installed = 0, extended = 0, unresolved = 0, busy = 0
    /// This node's own new flows its datapath found no way for (both sets full of busy flows),
    /// written by the agent into a way freed since, or into the overflow: this node keeps them on
    /// their backend through a ring change, as the other nodes do through the store.
    public var ownPlaced = 0, ownOverflow = 0
    /// Writes waiting for the store, dropped because the wait queue was full, refused by the
    /// store (e.g. out of memory); failed attempts to reach it.
    public var pending = 0, dropped = 0, refused = 0, storeFailures = 0
    /// Writes queued again because the store redirected them or asked for a retry (never
    /// counted as refused); refused writes by the store's error kind.
    public var retried = 0
    public var refusedByKind: [String: Int] = [:]
    /// Every error reply from the store by kind (moved, ask, tryagain, loading, oom, noperm, …).
    public var storeErrors: [String: Int] = [:]
    /// Times the subscription was restored after a loss (store restart, failover, resharding)
    /// and this node's own live entries re-written then: what a store that lost its last
    /// writes got back.
    public var recoveries = 0, rewritten = 0

    public init(store: String) { self.store = store }
}
