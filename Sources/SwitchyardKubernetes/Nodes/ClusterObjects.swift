/// One change a node-side watcher saw: a full list (replacing what was known of that kind) or one object.
public enum ClusterChange: Sendable, Hashable {
    case servicesListed([Service])
    case serviceUpserted(Service)
    case serviceDeleted(Service)
    case slicesListed([EndpointSlice])
    case sliceUpserted(EndpointSlice)
    case sliceDeleted(EndpointSlice)
    case poolsListed([AddressPool])
    case poolUpserted(AddressPool)
    case poolDeleted(AddressPool)
}

/// What an LB-node agent or an endpoint agent knows of the cluster: Services, their EndpointSlices and the
/// address pools, as the watches last delivered them. Pure; the translators read it, the watchers feed it.
public struct ClusterObjects: Sendable, Hashable {
    public private(set) var services: [NamespacedName: Service] = [:]
    public private(set) var slices: [NamespacedName: EndpointSlice] = [:]
    public private(set) var pools: [String: AddressPool] = [:]
    /// Slice keys by the Service they belong to (label `kubernetes.io/service-name`).
    private var slicesByService: [NamespacedName: Set<NamespacedName>] = [:]
    private var listed: Set<Kind> = []

    /// The EndpointSlice label naming its Service (discovery.k8s.io/v1).
    public static let serviceNameLabel = "kubernetes.io/service-name"

    public enum Kind: Sendable, Hashable, CaseIterable {
        case services, slices, pools
    }

    public init() {}

    /// Every kind has been listed once: before that, an absent object may only be not yet seen, and acting
    /// on it (withdrawing a VIP, emptying a pod) would undo working state.
    public var isSynced: Bool { listed.count == Kind.allCases.count }

    /// Applies one change; returns whether it could change what a node does (a Service status or an
    /// endpoint condition did; a resourceVersion bump alone of an otherwise equal object did not).
    @discardableResult
    public mutating func apply(_ change: ClusterChange) -> Bool {
        switch change {
        case .servicesListed(let items):
            listed.insert(.services)
            let fresh = Dictionary(items.map { (NamespacedName($0), $0) }, uniquingKeysWith: { _, last in last })
            defer { services = fresh }
            return !Self.sameContent(services, fresh)
        case .serviceUpserted(let service):
            let key = NamespacedName(service)
            defer { services[key] = service }
            return services[key].map { !Self.sameContent($0, service) } ?? true
        case .serviceDeleted(let service):
            return services.removeValue(forKey: NamespacedName(service)) != nil
        case .slicesListed(let items):
            listed.insert(.slices)
            let old = slices
            slices = [:]
            slicesByService = [:]
            for slice in items { insert(slice) }
            return !Self.sameContent(old, slices)
        case .sliceUpserted(let slice):
            let key = Self.key(slice)
            let old = slices[key]
            if let old { remove(old) }
            insert(slice)
            return old.map { !Self.sameContent($0, slice) } ?? true
        case .sliceDeleted(let slice):
            guard let old = slices[Self.key(slice)] else { return false }
            remove(old)
            return true
        case .poolsListed(let items):
            listed.insert(.pools)
            let fresh = Dictionary(items.map { ($0.metadata.name ?? "", $0) }, uniquingKeysWith: { _, last in last })
            defer { pools = fresh }
            return !Self.sameContent(pools, fresh)
        case .poolUpserted(let pool):
            let name = pool.metadata.name ?? ""
            defer { pools[name] = pool }
            return pools[name].map { !Self.sameContent($0, pool) } ?? true
        case .poolDeleted(let pool):
            return pools.removeValue(forKey: pool.metadata.name ?? "") != nil
        }
    }

    /// The EndpointSlices of one Service, by slice name (a stable order).
    public func slices(of service: NamespacedName) -> [EndpointSlice] {
        (slicesByService[service] ?? []).sorted().compactMap { slices[$0] }
    }

    private mutating func insert(_ slice: EndpointSlice) {
        let key = Self.key(slice)
        slices[key] = slice
        if let owner = Self.owner(slice) { slicesByService[owner, default: []].insert(key) }
    }

    private mutating func remove(_ slice: EndpointSlice) {
        let key = Self.key(slice)
        slices[key] = nil
        if let owner = Self.owner(slice) {
            slicesByService[owner]?.remove(key)
            if slicesByService[owner]?.isEmpty == true { slicesByService[owner] = nil }
        }
    }

    static func key(_ slice: EndpointSlice) -> NamespacedName {
        NamespacedName(namespace: slice.metadata.namespace ?? "", name: slice.metadata.name ?? "")
    }

    static func owner(_ slice: EndpointSlice) -> NamespacedName? {
        guard let name = slice.metadata.labels?[serviceNameLabel], !name.isEmpty else { return nil }
        return NamespacedName(namespace: slice.metadata.namespace ?? "", name: name)
    }

    /// Equal but for metadata.resourceVersion (a bump alone, as a status write of another field makes).
    static func sameContent<Object: KubeResource & Hashable>(_ a: Object, _ b: Object) -> Bool {
        var a = a
        var b = b
        a.metadata.resourceVersion = nil
        b.metadata.resourceVersion = nil
        return a == b
    }

    static func sameContent<Key, Object: KubeResource & Hashable>(_ a: [Key: Object], _ b: [Key: Object]) -> Bool {
        guard a.count == b.count else { return false }
        return a.allSatisfy { key, value in b[key].map { sameContent(value, $0) } ?? false }
    }
}
