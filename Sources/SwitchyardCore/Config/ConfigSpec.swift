/// A configuration as written, before any rule is checked: the shape every source builds (the
/// YAML file today, Kubernetes objects later) and hands to `ConfigValidation.validate`.
///
/// Fields mirror the file: nil means "not given" (the validator applies the default or reports a
/// required field), numbers are numbers, and everything whose meaning needs checking (addresses,
/// enumerations, paths) stays text so every source gets the same checks and the same messages.
public struct ConfigSpec: Hashable, Sendable {
    public var node: NodeSpec?
    public var services: [ServiceSpec]?

    public init(node: NodeSpec? = nil, services: [ServiceSpec]? = nil) {
        self.node = node
        self.services = services
    }
}

/// `node`: the LB node's own settings (see `NodeSettings` for what each one does).
public struct NodeSpec: Hashable, Sendable {
    public var name: String?
    public var ipv4Source: String?
    public var ipv6Source: String?
    public var interface: String?
    public var mtu: Int?
    public var maglevTableSize: Int?
    public var flowTableCapacity: Int?
    public var newFlowRatePerCPU: Int?
    public var flowEvictIdleSeconds: Double?
    public var pinDirectory: String?
    public var stateDirectory: String?
    public var metricsAddress: String?
    public var adminSocket: String?
    public var flowStore: FlowStoreSpec?
    public var sourceMAC: String?
    public var nextHopMAC: String?
    public var shard: Int?
    public var bgp: BGPSpec?

    public init(
        name: String? = nil, ipv4Source: String? = nil, ipv6Source: String? = nil, interface: String? = nil,
        mtu: Int? = nil, maglevTableSize: Int? = nil, flowTableCapacity: Int? = nil,
        newFlowRatePerCPU: Int? = nil, flowEvictIdleSeconds: Double? = nil, pinDirectory: String? = nil,
        stateDirectory: String? = nil, metricsAddress: String? = nil, adminSocket: String? = nil,
        flowStore: FlowStoreSpec? = nil, sourceMAC: String? = nil, nextHopMAC: String? = nil, shard: Int? = nil,
        bgp: BGPSpec? = nil
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

/// `node.flowStore.tls` (see `FlowStoreTLS`).
public struct FlowStoreTLSSpec: Hashable, Sendable {
    public var caFile: String?
    public var certificateFile: String?
    public var keyFile: String?
    public var serverName: String?

    public init(
        caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil
    ) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
    }
}

/// `node.flowStore` (see `FlowStoreSettings`).
public struct FlowStoreSpec: Hashable, Sendable {
    /// `redis`, `redis-cluster`, `redis-sentinel` or `embedded`; when absent, `redis` if an
    /// address is given, `redis-cluster` if seeds are, else `embedded`.
    public var type: String?
    /// HOST:PORT of the Redis server.
    public var address: String?
    /// HOST:PORT of cluster nodes (redis-cluster) or sentinels (redis-sentinel).
    public var seeds: [String]?
    public var masterName: String?
    public var user: String?
    public var password: String?
    public var tls: FlowStoreTLSSpec?
    public var path: String?
    public var newFlowSeconds: Int?
    public var tcpIdleSeconds: Int?
    public var udpIdleSeconds: Int?
    public var closingSeconds: Int?
    public var refreshSeconds: Int?
    public var maxEntries: Int?

    public init(
        type: String? = nil, address: String? = nil, seeds: [String]? = nil, masterName: String? = nil,
        user: String? = nil, password: String? = nil, tls: FlowStoreTLSSpec? = nil,
        path: String? = nil, newFlowSeconds: Int? = nil, tcpIdleSeconds: Int? = nil,
        udpIdleSeconds: Int? = nil, closingSeconds: Int? = nil, refreshSeconds: Int? = nil,
        maxEntries: Int? = nil
    ) {
        self.type = type
        self.address = address
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
}
