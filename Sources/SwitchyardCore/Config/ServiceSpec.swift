/// One entry of `services`: a VIP with one or more ports, all sharing backends and options.
/// It becomes one `Service` per port.
public struct ServiceSpec: Hashable, Sendable {
    public var name: String?
    public var vip: String?
    public var ports: [PortSpec]?
    /// `stateless` or `stateful`.
    public var mode: String?
    /// `connection` or `sourceIP`.
    public var flowKey: String?
    /// `ipip` or `gue`.
    public var encap: String?
    public var guePort: Int?
    public var backends: [BackendSpec]?
    public var healthCheck: HealthCheckSpec?
    public var shard: Int?
    /// `ASN:VALUE` (RFC 1997).
    public var communities: [String]?
    /// `A:B:C` (RFC 8092).
    public var largeCommunities: [String]?
    /// Client prefixes admitted, `203.0.113.0/24` or `2001:db8::/32`; absent or empty admits all.
    public var sourceRanges: [String]?

    public init(
        name: String? = nil, vip: String? = nil, ports: [PortSpec]? = nil, mode: String? = nil,
        flowKey: String? = nil, encap: String? = nil, guePort: Int? = nil, backends: [BackendSpec]? = nil,
        healthCheck: HealthCheckSpec? = nil, shard: Int? = nil, communities: [String]? = nil,
        largeCommunities: [String]? = nil, sourceRanges: [String]? = nil
    ) {
        self.name = name
        self.vip = vip
        self.ports = ports
        self.mode = mode
        self.flowKey = flowKey
        self.encap = encap
        self.guePort = guePort
        self.backends = backends
        self.healthCheck = healthCheck
        self.shard = shard
        self.communities = communities
        self.largeCommunities = largeCommunities
        self.sourceRanges = sourceRanges
    }
}

/// One `{port, protocol}` of a service; the protocol defaults to tcp.
public struct PortSpec: Hashable, Sendable {
    public var port: Int?
    public var `protocol`: String?

    public init(port: Int? = nil, protocol: String? = nil) {
        self.port = port
        self.protocol = `protocol`
    }
}

/// One backend; its port defaults to each service port, its weight to 1, its state to `up`.
public struct BackendSpec: Hashable, Sendable {
    public var address: String?
    public var port: Int?
    public var weight: Int?
    /// `up`, `draining` or `down`.
    public var state: String?

    public init(address: String? = nil, port: Int? = nil, weight: Int? = nil, state: String? = nil) {
        self.address = address
        self.port = port
        self.weight = weight
        self.state = state
    }
}

/// `healthCheck` of a service (see `HealthCheck` for the defaults).
public struct HealthCheckSpec: Hashable, Sendable {
    /// `tcp` or `http`.
    public var type: String?
    public var path: String?
    public var expectStatus: Int?
    public var intervalSeconds: Double?
    public var timeoutSeconds: Double?
    public var rise: Int?
    public var fall: Int?

    public init(
        type: String? = nil, path: String? = nil, expectStatus: Int? = nil, intervalSeconds: Double? = nil,
        timeoutSeconds: Double? = nil, rise: Int? = nil, fall: Int? = nil
    ) {
        self.type = type
        self.path = path
        self.expectStatus = expectStatus
        self.intervalSeconds = intervalSeconds
        self.timeoutSeconds = timeoutSeconds
        self.rise = rise
        self.fall = fall
    }
}
