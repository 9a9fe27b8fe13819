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
    
        public init(address: String, port: UInt16, index: UInt32, weight: UInt16, configured: String, health: String?, effective: String, packets: UInt64, bytes: UInt64, newFlows: UInt64) {
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
    
        public init(name: String, key: String, id: UInt32, mode: String, flowKey: String, encap: String, packets: UInt64, newFlows: UInt64, tooBig: UInt64, backends: [BackendStatus]) {
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
    /// Stateful mode: flows this node reported to the store, flows it installed from other
    /// nodes, records it could not resolve (unknown service or backend).
    public var flowsPublished: Int
    public var flowsInstalled: Int
    public var flowsUnresolved: Int
    public var services: [ServiceStatus]
    public var drops: [String: UInt64]
    public var events: [String: UInt64]

    public init(node: String, interface: String?, xdpMode: String?, reusedPinnedMaps: Bool, configFile: String, reloadsOK: Int, reloadsFailed: Int, ringRebuilds: Int, flowsPublished: Int, flowsInstalled: Int, flowsUnresolved: Int, services: [ServiceStatus], drops: [String: UInt64], events: [String: UInt64]) {
        self.node = node
        self.interface = interface
        self.xdpMode = xdpMode
        self.reusedPinnedMaps = reusedPinnedMaps
        self.configFile = configFile
        self.reloadsOK = reloadsOK
        self.reloadsFailed = reloadsFailed
        self.ringRebuilds = ringRebuilds
        self.flowsPublished = flowsPublished
        self.flowsInstalled = flowsInstalled
        self.flowsUnresolved = flowsUnresolved
        self.services = services
        self.drops = drops
        self.events = events
    }
}
