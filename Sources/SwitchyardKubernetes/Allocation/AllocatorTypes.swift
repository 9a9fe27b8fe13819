import SwitchyardCore

/// A namespaced object's identity as the allocator keys it.
public struct NamespacedName: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// The key of an object as the server sent it; objects without a name get the empty name.
    public init(_ service: Service) {
        self.init(namespace: service.metadata.namespace ?? "", name: service.metadata.name ?? "")
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name) }
    public var description: String { "\(namespace)/\(name)" }
}

/// What the controller was started with.
public struct AllocatorConfiguration: Sendable, Hashable {
    /// The `spec.loadBalancerClass` served.
    public var loadBalancerClass: String
    /// Also serve `LoadBalancer` Services with no class (off by default: another load balancer
    /// may own those).
    public var servesServicesWithoutClass: Bool
    /// The `ipMode` written with every ingress address.
    public var ipMode: IngressIPMode

    public init(
        loadBalancerClass: String = SwitchyardGroup.defaultLoadBalancerClass, servesServicesWithoutClass: Bool = false,
        ipMode: IngressIPMode = .proxy
    ) {
        self.loadBalancerClass = loadBalancerClass
        self.servesServicesWithoutClass = servesServicesWithoutClass
        self.ipMode = ipMode
    }
}

extension AllocatorConfiguration {
    /// `spec.type: LoadBalancer` of the configured class (or of no class when so configured): the
    /// controller's, the LB agents' and the endpoint agents' one rule.
    public func serves(_ service: Service) -> Bool {
        guard service.spec.type == "LoadBalancer" else { return false }
        guard let serviceClass = service.spec.loadBalancerClass else { return servesServicesWithoutClass }
        return serviceClass == loadBalancerClass
    }
}

/// `status.loadBalancer.ingress[].ipMode` (KEP-1860; beta and on by default from Kubernetes 1.30).
///
/// Switchyard publishes `Proxy` by default. With `VIP`, kube-proxy treats the address as if it were local to
/// every node: it DNATs traffic *to* it from pods and nodes straight to endpoints (bypassing the LB tier, its
/// flow table and its source ranges), and in IPVS mode it binds the address to `kube-ipvs0` on every node —
/// which makes the node drop the pods' DSR replies passing through it, whose source is that address, as
/// martians (a forwarded packet may not come from a local address). With `Proxy`, kube-proxy leaves the
/// address alone: in-cluster clients go through the LB nodes like everyone else. `VIP` is for clusters that
/// want kube-proxy's in-cluster shortcut and run it in iptables or nftables mode.
public enum IngressIPMode: String, Sendable, Hashable, CaseIterable {
    case proxy = "Proxy"
    case vip = "VIP"
}

/// How a write the allocator asked for ended.
public enum WriteOutcome<Object: Sendable & Hashable>: Sendable, Hashable {
    /// The server accepted it; `Object` is what it returned (with the new resourceVersion).
    case succeeded(Object)
    /// 409: the object changed since the decision. The I/O layer re-reads it and feeds it in as
    /// an upsert; the allocator decides again on that fresh object.
    case conflict
    /// Any other refusal (422, 403, 404...). Not retried until the object changes.
    case rejected(message: String)
}

/// Everything the allocator learns, named for what happened.
public enum AllocatorInput: Sendable, Hashable {
    /// A complete list (the first one marks the kind synced; a later one — a relist after
    /// `410 Gone` — replaces what was known: objects missing from it count as deleted).
    case poolsListed([AddressPool])
    case namespacesListed([Namespace])
    case servicesListed([Service])
    case poolUpserted(AddressPool)
    case poolDeleted(name: String)
    case namespaceUpserted(Namespace)
    case namespaceDeleted(name: String)
    case serviceUpserted(Service)
    case serviceDeleted(NamespacedName)
    /// The result of executing a `writeServiceStatus` action: pass the write back as it was
    /// given, so a late result of an older write (a Service deleted and re-created meanwhile)
    /// is told apart from the current one.
    case serviceStatusWritten(ServiceStatusWrite, WriteOutcome<Service>)
    case poolStatusWritten(PoolStatusWrite, WriteOutcome<AddressPool>)
}

/// What the I/O layer must do.
public enum AllocatorAction: Sendable, Hashable {
    case writeServiceStatus(ServiceStatusWrite)
    case writePoolStatus(PoolStatusWrite)
    case recordEvent(EventRecord)
}

/// Replace a Service's `status.loadBalancer` and `status.conditions` through the `/status`
/// subresource, with `resourceVersion` as the precondition (a 409 means: feed the fresh object
/// in). Report the result as `.serviceStatusWritten`.
public struct ServiceStatusWrite: Sendable, Hashable {
    public var key: NamespacedName
    public var uid: String?
    /// The version the decision was based on.
    public var resourceVersion: String?
    /// `loadBalancer.ingress` (empty when releasing) and the full `conditions` list (other
    /// writers' conditions kept as they were).
    public var status: ServiceStatus

    /// `service` with this status in place, for a PUT of the whole object.
    public func applied(to service: Service) -> Service {
        var updated = service
        var merged = service.status ?? ServiceStatus()
        merged.loadBalancer = status.loadBalancer
        merged.conditions = status.conditions
        updated.status = merged
        updated.metadata.resourceVersion = resourceVersion
        return updated
    }
}

/// Replace an AddressPool's status (`/status`, precondition `resourceVersion`); report the result
/// as `.poolStatusWritten`.
public struct PoolStatusWrite: Sendable, Hashable {
    public var name: String
    public var resourceVersion: String?
    public var status: AddressPoolStatus
}

/// A Kubernetes Event to create about a Service.
public struct EventRecord: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case normal = "Normal"
        case warning = "Warning"
    }

    public var involvedObject: NamespacedName
    public var involvedUID: String?
    public var type: Kind
    public var reason: String
    public var message: String
}

/// The reasons of the `switchyard.io/AddressAssigned` condition (the contract's list).
public enum AssignmentReason: String, Sendable, Hashable, CaseIterable {
    case assigned = "Assigned"
    case noMatchingPool = "NoMatchingPool"
    case poolExhausted = "PoolExhausted"
    case requestedIPUnavailable = "RequestedIPUnavailable"
    case sharingConflict = "SharingConflict"
    case invalidAnnotation = "InvalidAnnotation"
    /// The Service keeps an address no pool covers any more (a pool shrank or went away).
    case addressOutsidePool = "AddressOutsidePool"
}

/// How LB nodes forward a Service's flows (`switchyard.io/mode`).
public enum ForwardingMode: String, Sendable, Hashable, CaseIterable {
    case stateless
    case stateful
}

/// What identifies a flow for backend choice (`switchyard.io/flow-key`).
public enum FlowKeyKind: String, Sendable, Hashable, CaseIterable {
    case connection
    case sourceIP = "source-ip"
}

/// What the next layer (LB nodes, agents) needs of an allocated Service.
public struct ServiceSettings: Sendable, Hashable {
    /// Primary family first.
    public var addresses: [IPAddress]
    /// The pool the primary address belongs to, if any pool still covers it.
    public var pool: String?
    public var mode: ForwardingMode
    public var flowKey: FlowKeyKind
}

/// The names Switchyard reads from and writes to Services.
public enum SwitchyardNames {
    public static let conditionType = "\(SwitchyardGroup.name)/AddressAssigned"
    public static let loadBalancerIPs = "\(SwitchyardGroup.name)/loadBalancerIPs"
    public static let allowSharedIP = "\(SwitchyardGroup.name)/allow-shared-ip"
    public static let sharingCrossNamespace = "\(SwitchyardGroup.name)/sharing-cross-namespace"
    public static let mode = "\(SwitchyardGroup.name)/mode"
    public static let flowKey = "\(SwitchyardGroup.name)/flow-key"
    public static let addressPool = "\(SwitchyardGroup.name)/address-pool"
}
