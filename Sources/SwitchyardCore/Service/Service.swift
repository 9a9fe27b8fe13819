/// How an LB node remembers which backend a connection belongs to.
public enum ServiceMode: String, Sendable, Hashable, CaseIterable {
    /// Maglev plus a local flow table: no shared state.
    case stateless
    /// Also a flow table shared by every LB node through the flow store.
    case stateful
}

/// What one flow-table entry stands for.
public enum FlowKeyKind: String, Sendable, Hashable, CaseIterable {
    /// The 5-tuple: each connection is placed on its own.
    case connection
    /// The client address: every connection of one client goes to one backend.
    case sourceIP
}

/// How packets are carried to the backend.
public enum Encapsulation: String, Sendable, Hashable, CaseIterable {
    /// IPv4-in-IPv4 (RFC 2003) for IPv4 VIPs, IPv6-in-IPv6 (RFC 2473) for IPv6 VIPs: the backend
    /// must be of the VIP's family.
    case ipip
    /// UDP with the inner IP packet directly after it (GUE variant 1); any family mix.
    case gue
}

/// How the agent decides a backend is alive (per service; health is per service and backend).
public struct HealthCheck: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case tcp // a TCP connect to the backend's port
        case http // an HTTP/1.1 GET of `path`, expecting `expectStatus`
    }

    public var kind: Kind
    public var path: String
    public var expectStatus: Int
    public var intervalSeconds: Double
    public var timeoutSeconds: Double
    /// Consecutive successes that bring a down backend up.
    public var rise: Int
    /// Consecutive failures that take an up backend down.
    public var fall: Int

    public init(
        kind: Kind = .tcp, path: String = "/", expectStatus: Int = 200, intervalSeconds: Double = 1,
        timeoutSeconds: Double = 0.5, rise: Int = 2, fall: Int = 3
    ) {
        self.kind = kind
        self.path = path
        self.expectStatus = expectStatus
        self.intervalSeconds = intervalSeconds
        self.timeoutSeconds = timeoutSeconds
        self.rise = rise
        self.fall = fall
    }
}

/// What identifies a service in the datapath: VIP, port, protocol.
public struct ServiceKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var vip: IPAddress
    public var port: UInt16
    public var proto: L4Protocol

    public init(vip: IPAddress, port: UInt16, proto: L4Protocol) {
        self.vip = vip
        self.port = port
        self.proto = proto
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.vip, lhs.port, lhs.proto.rawValue) < (rhs.vip, rhs.port, rhs.proto.rawValue)
    }

    public var description: String {
        vip.family == .v6 ? "[\(vip)]:\(port)/\(proto)" : "\(vip):\(port)/\(proto)"
    }
}

/// One load-balanced service: a VIP, port and protocol with its backends and options.
public struct Service: Sendable, Hashable {
    public var name: String
    public var key: ServiceKey
    public var mode: ServiceMode
    public var flowKey: FlowKeyKind
    public var encap: Encapsulation
    public var guePort: UInt16
    public var backends: [Backend]
    /// Nil: backends are taken at their configured state, unchecked.
    public var healthCheck: HealthCheck?
    /// The shard of LB nodes that announces this VIP (QoS isolation: services divided between
    /// groups of nodes); nil means every node announces it.
    public var shard: UInt32?
    /// Communities the VIP is announced with (RFC 1997, RFC 8092); a VIP's services contribute
    /// theirs to its one route.
    public var communities: [RouteCommunity]
    public var largeCommunities: [LargeRouteCommunity]
    /// Client prefixes admitted (Kubernetes' `loadBalancerSourceRanges`); empty admits every
    /// client. A prefix of the other family than the VIP's never matches: a non-empty list with
    /// none of the VIP's family admits nobody.
    public var sourceRanges: [IPPrefix]

    public init(
        name: String, key: ServiceKey, mode: ServiceMode = .stateless, flowKey: FlowKeyKind = .connection,
        encap: Encapsulation = .ipip, guePort: UInt16 = 6080, backends: [Backend], healthCheck: HealthCheck? = nil,
        shard: UInt32? = nil, communities: [RouteCommunity] = [], largeCommunities: [LargeRouteCommunity] = [],
        sourceRanges: [IPPrefix] = []
    ) {
        self.name = name
        self.key = key
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

    /// The ring members: backends that may take new flows.
    public var ringMembers: [MaglevTable.Member] {
        backends.filter(\.takesNewFlows).map { .init(identity: $0.identity, weight: $0.weight) }
    }
}
