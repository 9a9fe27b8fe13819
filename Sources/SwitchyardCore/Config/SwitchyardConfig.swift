/// Where stateful services share their flows (Redis).
public struct FlowStoreSettings: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// One LB node: a journal on local disk, so an agent restart or a reboot recovers flows.
        case embedded
        /// Several LB nodes share one Redis server.
        case redis
        /// A Redis Cluster: keys sharded over primaries by hash slot, each with replicas.
        case redisCluster = "redis-cluster"
        /// A primary with replicas whose failover Redis Sentinel manages.
        case redisSentinel = "redis-sentinel"
    }

    public var kind: Kind
    /// Redis address (kind redis).
    public var host: String
    public var port: Int
    /// redis-cluster: nodes to learn the cluster's topology from (any of them will do);
    /// redis-sentinel: the sentinels to ask for the primary.
    public var seeds: [HostPort]
    /// redis-sentinel: the name the sentinels monitor the primary under.
    public var masterName: String?
    public var user: String?
    public var password: String?
    /// Connections to the store's servers (and sentinels) over TLS; nil = clear text.
    public var tls: FlowStoreTLS?
    /// The embedded store's journal; nil = `<stateDirectory>/flows.journal`.
    public var path: String?
    /// Lifetime of an entry not yet refreshed: flows that sent only their first packets (a
    /// flood) expire — and, under memory pressure, are evicted — before established ones.
    public var newFlowSeconds: Int
    /// Lifetime after the last refresh, per protocol.
    public var tcpIdleSeconds: Int
    public var udpIdleSeconds: Int
    /// Lifetime after the client's FIN (the last ACKs still need the backend).
    public var closingSeconds: Int
    /// A used entry is refreshed in the store at most this often, by the node carrying it.
    public var refreshSeconds: Int
    /// The embedded store's bound; beyond it the entries closest to expiry go first.
    public var maxEntries: Int

    public static let defaultNewFlowSeconds = 60
    public static let defaultTCPIdleSeconds = 900
    public static let defaultUDPIdleSeconds = 120
    public static let defaultClosingSeconds = 10
    public static let defaultRefreshSeconds = 20
    public static let defaultMaxEntries = 2_000_000

    public init(
        kind: Kind = .redis, host: String = "", port: Int = 6379, seeds: [HostPort] = [], masterName: String? = nil,
        user: String? = nil, password: String? = nil, tls: FlowStoreTLS? = nil, path: String? = nil,
        newFlowSeconds: Int = Self.defaultNewFlowSeconds,
        tcpIdleSeconds: Int = Self.defaultTCPIdleSeconds, udpIdleSeconds: Int = Self.defaultUDPIdleSeconds,
        closingSeconds: Int = Self.defaultClosingSeconds, refreshSeconds: Int = Self.defaultRefreshSeconds,
        maxEntries: Int = Self.defaultMaxEntries
    ) {
        self.kind = kind
        self.host = host
        self.port = port
        self.seeds = seeds
        self.masterName = masterName
        self.user = user
        self.password = password
        self.tls = tls
        self.path = path
        self.newFlowSeconds = newFlowSeconds
        self.tcpIdleSeconds = tcpIdleSeconds
        self.udpIdleSeconds = udpIdleSeconds
        self.closingSeconds = closingSeconds
        self.refreshSeconds = refreshSeconds
        self.maxEntries = maxEntries
    }

    /// The embedded store with defaults: what stateful services get when no store is configured.
    public static let embedded = FlowStoreSettings(kind: .embedded)

    /// How long an entry of `proto` lives after a refresh.
    public func idleSeconds(proto: UInt8) -> Int { proto == 17 ? udpIdleSeconds : tcpIdleSeconds }
}

/// TLS to the flow store: whom to trust, what to present, which name to expect.
public struct FlowStoreTLS: Sendable, Hashable {
    /// PEM file of the certificate authorities the servers' certificates must chain to.
    public var caFile: String
    /// PEM files of the client certificate and its key, for servers that require one
    /// (`tls-auth-clients yes`, Redis's default); both or neither.
    public var certificateFile: String?
    public var keyFile: String?
    /// The name the servers' certificates must carry; nil = the host the client connects to.
    public var serverName: String?

    public init(caFile: String, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
    }
}

/// Settings of the LB node itself.
public struct NodeSettings: Sendable, Hashable {
    public var name: String
    /// Outer source address for IPv4 encapsulation; required when any backend is IPv4.
    public var ipv4Source: IPv4Address?
    /// Outer source address for IPv6 encapsulation; required when any backend is IPv6.
    public var ipv6Source: IPv6Address?
    /// The interface the XDP program attaches to.
    public var interface: String?
    /// Egress MTU: the largest outer IP packet the fabric carries.
    public var mtu: Int
    /// Maglev ring size, a prime.
    public var maglevTableSize: Int
    /// Live flows this node's flow table must hold. The table gets 1.15 ways per flow (sets of 8,
    /// two candidate sets per key), which holds ≥ 99% of this many random flows.
    public var flowTableCapacity: Int
    /// Flow-table inserts per CPU per second; past it new flows are forwarded by the ring
    /// without an entry (0 = unlimited).
    public var newFlowRatePerCPU: Int
    /// A flow idle this long may lose its flow-table way to a new flow; busier flows never do.
    public var flowEvictIdleSeconds: Double
    /// bpffs directory the agent pins its maps in: a restarted agent re-uses them.
    public var pinDirectory: String
    /// Where the agent keeps state that must outlive it (backend index allocation).
    public var stateDirectory: String
    /// Prometheus endpoint, host:port (loopback by default).
    public var metricsAddress: String
    /// The admin API's unix socket (root only).
    public var adminSocket: String
    /// The flow store stateful services share flows through (nil: none; stateful services then
    /// behave as stateless).
    public var flowStore: FlowStoreSettings?
    /// When set, frames leave with these MACs instead of the kernel's FIB answer.
    public var sourceMAC: MACAddress?
    public var nextHopMAC: MACAddress?
    /// The shard this node belongs to: it announces only VIPs of this shard and VIPs without one
    /// (nil: only the latter).
    public var shard: UInt32?
    /// Nil: the node speaks no BGP (routes to its VIPs are someone else's business).
    public var bgp: BGPSettings?

    public static let defaultMTU = 1500
    public static let defaultFlowTableCapacity = 1_000_000
    public static let defaultNewFlowRatePerCPU = 500_000
    public static let defaultFlowEvictIdleSeconds = 2.0
    public static let defaultPinDirectory = "/sys/fs/bpf/switchyard"
    public static let defaultStateDirectory = "/var/lib/switchyard"
    public static let defaultMetricsAddress = "127.0.0.1:9400"
    public static let defaultAdminSocket = "/run/switchyard/admin.sock"

    public init(
        name: String, ipv4Source: IPv4Address? = nil, ipv6Source: IPv6Address? = nil, interface: String? = nil,
        mtu: Int = NodeSettings.defaultMTU, maglevTableSize: Int = 65537,
        flowTableCapacity: Int = NodeSettings.defaultFlowTableCapacity,
        newFlowRatePerCPU: Int = NodeSettings.defaultNewFlowRatePerCPU,
        flowEvictIdleSeconds: Double = NodeSettings.defaultFlowEvictIdleSeconds,
        pinDirectory: String = NodeSettings.defaultPinDirectory,
        stateDirectory: String = NodeSettings.defaultStateDirectory,
        metricsAddress: String = NodeSettings.defaultMetricsAddress,
        adminSocket: String = NodeSettings.defaultAdminSocket, flowStore: FlowStoreSettings? = nil,
        sourceMAC: MACAddress? = nil, nextHopMAC: MACAddress? = nil, shard: UInt32? = nil, bgp: BGPSettings? = nil
    ) {
        self.name = name
        self.ipv4Source = ipv4Source
        self.ipv6Source = ipv6Source
        self.interface = interface
        self.mtu = mtu
        self.maglevTableSize = maglevTableSize
        self.flowTableCapacity = flowTableCapacity
        self.newFlowRatePerCPU = newFlowRatePerCPU
        self.flowEvictIdleSeconds = flowEvictIdleSeconds
        self.pinDirectory = pinDirectory
        self.stateDirectory = stateDirectory
        self.metricsAddress = metricsAddress
        self.adminSocket = adminSocket
        self.flowStore = flowStore
        self.sourceMAC = sourceMAC
        self.nextHopMAC = nextHopMAC
        self.shard = shard
        self.bgp = bgp
    }
}

/// A whole, validated configuration: what the agent should make true.
public struct SwitchyardConfig: Sendable, Hashable {
    public var node: NodeSettings
    /// One entry per VIP:port:protocol, in file order.
    public var services: [Service]

    public init(node: NodeSettings, services: [Service]) {
        self.node = node
        self.services = services
    }

    public func service(for key: ServiceKey) -> Service? {
        services.first { $0.key == key }
    }
}
