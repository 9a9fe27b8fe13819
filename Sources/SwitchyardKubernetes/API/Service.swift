/// The subset of a core `v1` Service the allocator reads (spec, metadata) and writes (status).
public struct Service: KubeResource, Hashable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "Service"
    public static let plural = "services"
    public static let namespaced = true

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: ServiceSpec
    public var status: ServiceStatus?

    public init(
        metadata: ObjectMeta, spec: ServiceSpec = ServiceSpec(), status: ServiceStatus? = nil
    ) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decode(ObjectMeta.self, forKey: .metadata)
        // A Service always has a spec on a real server; a missing one reads as the defaults.
        spec = try container.decodeIfPresent(ServiceSpec.self, forKey: .spec) ?? ServiceSpec()
        status = try container.decodeIfPresent(ServiceStatus.self, forKey: .status)
    }
}

public struct ServiceSpec: Codable, Sendable, Hashable {
    /// ClusterIP, NodePort, LoadBalancer or ExternalName; nil reads as ClusterIP.
    public var type: String?
    public var loadBalancerClass: String?
    /// Deprecated upstream but still how many users request an address.
    public var loadBalancerIP: String?
    public var ports: [ServicePort]?
    /// "IPv4" / "IPv6", primary first.
    public var ipFamilies: [String]?
    /// SingleStack, PreferDualStack or RequireDualStack.
    public var ipFamilyPolicy: String?
    /// None or ClientIP.
    public var sessionAffinity: String?
    public var sessionAffinityConfig: SessionAffinityConfig?
    public var externalIPs: [String]?
    public var loadBalancerSourceRanges: [String]?
    /// Cluster or Local.
    public var externalTrafficPolicy: String?

    public init(
        type: String? = nil, loadBalancerClass: String? = nil, loadBalancerIP: String? = nil,
        ports: [ServicePort]? = nil, ipFamilies: [String]? = nil, ipFamilyPolicy: String? = nil,
        sessionAffinity: String? = nil
    ) {
        self.type = type
        self.loadBalancerClass = loadBalancerClass
        self.loadBalancerIP = loadBalancerIP
        self.ports = ports
        self.ipFamilies = ipFamilies
        self.ipFamilyPolicy = ipFamilyPolicy
        self.sessionAffinity = sessionAffinity
    }
}

public struct ServicePort: Codable, Sendable, Hashable {
    public var name: String?
    /// TCP, UDP or SCTP; nil reads as TCP.
    public var `protocol`: String?
    public var port: Int32
    public var targetPort: IntOrString?
    public var nodePort: Int32?

    public init(
        name: String? = nil, protocol: String? = nil, port: Int32, targetPort: IntOrString? = nil,
        nodePort: Int32? = nil
    ) {
        self.name = name
        self.protocol = `protocol`
        self.port = port
        self.targetPort = targetPort
        self.nodePort = nodePort
    }
}

public struct SessionAffinityConfig: Codable, Sendable, Hashable {
    public var clientIP: ClientIPConfig?

    public struct ClientIPConfig: Codable, Sendable, Hashable {
        public var timeoutSeconds: Int32?
        public init(timeoutSeconds: Int32? = nil) { self.timeoutSeconds = timeoutSeconds }
    }

    public init(clientIP: ClientIPConfig? = nil) { self.clientIP = clientIP }
}

public struct ServiceStatus: Codable, Sendable, Hashable {
    public var loadBalancer: LoadBalancerStatus?
    public var conditions: [Condition]?

    public init(loadBalancer: LoadBalancerStatus? = nil, conditions: [Condition]? = nil) {
        self.loadBalancer = loadBalancer
        self.conditions = conditions
    }
}

public struct LoadBalancerStatus: Codable, Sendable, Hashable {
    public var ingress: [LoadBalancerIngress]?
    public init(ingress: [LoadBalancerIngress]? = nil) { self.ingress = ingress }
}

public struct LoadBalancerIngress: Codable, Sendable, Hashable {
    public var ip: String?
    public var hostname: String?
    /// "VIP" (traffic to the address is delivered to the node as is) or "Proxy".
    public var ipMode: String?
    public var ports: [PortStatus]?

    public init(ip: String? = nil, hostname: String? = nil, ipMode: String? = nil, ports: [PortStatus]? = nil) {
        self.ip = ip
        self.hostname = hostname
        self.ipMode = ipMode
        self.ports = ports
    }
}

public struct PortStatus: Codable, Sendable, Hashable {
    public var port: Int32
    public var `protocol`: String
    public var error: String?

    public init(port: Int32, protocol: String, error: String? = nil) {
        self.port = port
        self.protocol = `protocol`
        self.error = error
    }
}

/// `Service` under a name that does not clash with `SwitchyardCore.Service` in files that
/// import both modules.
public typealias KubeService = Service
