import enum SwitchyardCore.IPAddress
import struct SwitchyardCore.IPv4Address
import struct SwitchyardCore.IPv6Address

@testable import SwitchyardKubernetes

/// A simulated API server around an `AddressAllocator`: one revision counter for every write,
/// resourceVersion preconditions on status writes, and the allocator's write results fed back
/// as the real I/O layer would (success → the returned object; 409 → conflict, then the fresh
/// object as an upsert).
struct AllocatorHarness {
    var allocator: AddressAllocator
    var services: [NamespacedName: Service] = [:]
    var pools: [String: AddressPool] = [:]
    var namespaces: [String: Namespace] = [:]
    var revision = 100
    var now = KubeTime(seconds: 1_796_047_200)
    var events: [EventRecord] = []
    var serviceWrites: [ServiceStatusWrite] = []
    var poolWrites: [PoolStatusWrite] = []
    /// Every action ever returned, in order.
    var actions: [AllocatorAction] = []
    /// When false, writes queue up until `settle()`.
    var autoSettle = true

    init(configuration: AllocatorConfiguration = AllocatorConfiguration()) {
        allocator = AddressAllocator(configuration: configuration)
    }

    mutating func nextVersion() -> String {
        revision += 1
        return String(revision)
    }

    /// Lists the three kinds (pools, namespaces, Services) and settles.
    @discardableResult
    mutating func start(pools: [AddressPool], namespaces: [Namespace] = [], services: [Service] = [])
        -> [AllocatorAction]
    {
        for pool in pools { store(pool) }
        for namespace in namespaces { self.namespaces[namespace.metadata.name ?? ""] = namespace }
        for service in services { store(service) }
        var returned = feed(
            .poolsListed(self.pools.values.sorted { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }))
        returned += feed(.namespacesListed(Array(self.namespaces.values)))
        returned += feed(.servicesListed(self.services.values.sorted { NamespacedName($0) < NamespacedName($1) }))
        return returned
    }

    @discardableResult
    mutating func feed(_ input: AllocatorInput) -> [AllocatorAction] {
        now = now.adding(.seconds(1))
        let returned = allocator.handle(input, at: now)
        actions += returned
        for action in returned {
            switch action {
            case .recordEvent(let event): events.append(event)
            case .writeServiceStatus(let write): serviceWrites.append(write)
            case .writePoolStatus(let write): poolWrites.append(write)
            }
        }
        if autoSettle { settle() }
        return returned
    }

    /// Executes queued writes (and the writes they cause) until none is left.
    mutating func settle(limit: Int = 10_000) {
        var steps = 0
        while steps < limit, !serviceWrites.isEmpty || !poolWrites.isEmpty {
            steps += 1
            if !serviceWrites.isEmpty {
                let write = serviceWrites.removeFirst()
                applyServiceWrite(write)
            } else {
                let write = poolWrites.removeFirst()
                applyPoolWrite(write)
            }
        }
    }

    mutating func applyServiceWrite(_ write: ServiceStatusWrite, outcome forced: WriteOutcome<Service>? = nil) {
        let saved = autoSettle
        autoSettle = false
        defer { autoSettle = saved }
        guard var service = services[write.key] else {
            feed(.serviceStatusWritten(write, .rejected(message: "404 not found")))
            return
        }
        if let forced {
            feed(.serviceStatusWritten(write, forced))
            return
        }
        guard service.metadata.resourceVersion == write.resourceVersion else {
            feed(.serviceStatusWritten(write, .conflict))
            feed(.serviceUpserted(service))
            return
        }
        service = write.applied(to: service)
        service.metadata.resourceVersion = nextVersion()
        services[write.key] = service
        feed(.serviceStatusWritten(write, .succeeded(service)))
    }

    mutating func applyPoolWrite(_ write: PoolStatusWrite) {
        let saved = autoSettle
        autoSettle = false
        defer { autoSettle = saved }
        guard var pool = pools[write.name] else {
            feed(.poolStatusWritten(write, .rejected(message: "404 not found")))
            return
        }
        guard pool.metadata.resourceVersion == write.resourceVersion else {
            feed(.poolStatusWritten(write, .conflict))
            feed(.poolUpserted(pool))
            return
        }
        pool.status = write.status
        pool.metadata.resourceVersion = nextVersion()
        pools[write.name] = pool
        feed(.poolStatusWritten(write, .succeeded(pool)))
    }

    mutating func store(_ service: Service) {
        var service = service
        service.metadata.resourceVersion = nextVersion()
        services[NamespacedName(service)] = service
    }

    mutating func store(_ pool: AddressPool) {
        var pool = pool
        pool.metadata.resourceVersion = nextVersion()
        pools[pool.metadata.name ?? ""] = pool
    }

    /// A user's change to a Service (spec or metadata; status kept as on the server).
    @discardableResult
    mutating func update(_ key: NamespacedName, _ change: (inout Service) -> Void) -> [AllocatorAction] {
        guard var service = services[key] else { return [] }
        change(&service)
        store(service)
        return feed(.serviceUpserted(services[key] ?? service))
    }

    @discardableResult
    mutating func create(_ service: Service) -> [AllocatorAction] {
        var service = service
        // A re-created Service is a new object.
        service.metadata.uid = "uid-\(revision)"
        store(service)
        return feed(.serviceUpserted(services[NamespacedName(service)] ?? service))
    }

    @discardableResult
    mutating func delete(_ key: NamespacedName) -> [AllocatorAction] {
        services[key] = nil
        return feed(.serviceDeleted(key))
    }

    @discardableResult
    mutating func apply(_ pool: AddressPool) -> [AllocatorAction] {
        var pool = pool
        pool.status = pools[pool.metadata.name ?? ""]?.status
        store(pool)
        return feed(.poolUpserted(pools[pool.metadata.name ?? ""] ?? pool))
    }

    @discardableResult
    mutating func deletePool(_ name: String) -> [AllocatorAction] {
        pools[name] = nil
        return feed(.poolDeleted(name: name))
    }

    // MARK: - Reading the server's state

    func ingress(_ key: NamespacedName) -> [String] {
        (services[key]?.status?.loadBalancer?.ingress ?? []).compactMap(\.ip)
    }

    func condition(_ key: NamespacedName) -> Condition? {
        services[key]?.status?.conditions?.first { $0.type == SwitchyardNames.conditionType }
    }

    func reason(_ key: NamespacedName) -> String? { condition(key)?.reason }

    func eventsAbout(_ key: NamespacedName) -> [EventRecord] { events.filter { $0.involvedObject == key } }
}

// MARK: - Object builders

let lbClass = SwitchyardGroup.defaultLoadBalancerClass
let baseTime = 1_796_000_000

func key(_ name: String, _ namespace: String = "shop") -> NamespacedName {
    NamespacedName(namespace: namespace, name: name)
}

func ip(_ text: String) -> IPAddress { IPAddress(text) ?? .v4(IPv4Address(0)) }

func makeService(
    _ name: String, namespace: String = "shop", age: Int = 0, type: String = "LoadBalancer",
    class serviceClass: String? = lbClass, annotations: [String: String] = [:], labels: [String: String] = [:],
    ports: [(Int32, String)] = [(80, "TCP")], families: [String]? = nil, policy: String? = nil,
    loadBalancerIP: String? = nil, ingress: [String] = [], sessionAffinity: String? = nil
) -> Service {
    var spec = ServiceSpec(
        type: type, loadBalancerClass: serviceClass, loadBalancerIP: loadBalancerIP,
        ports: ports.map { ServicePort(protocol: $0.1, port: $0.0) }, ipFamilies: families, ipFamilyPolicy: policy,
        sessionAffinity: sessionAffinity)
    spec.externalTrafficPolicy = "Cluster"
    let metadata = ObjectMeta(
        name: name, namespace: namespace, uid: "uid-\(namespace)-\(name)", generation: 1,
        creationTimestamp: KubeTime(seconds: Int64(baseTime + age)).rfc3339,
        labels: labels.isEmpty ? nil : labels, annotations: annotations.isEmpty ? nil : annotations)
    let status =
        ingress.isEmpty
        ? nil : ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: ingress.map { LoadBalancerIngress(ip: $0) }))
    return Service(metadata: metadata, spec: spec, status: status)
}

func makePool(
    _ name: String, _ addresses: [String], autoAssign: Bool? = nil, avoidBuggyIPs: Bool? = nil,
    disabled: Bool? = nil, priority: Int32? = nil, namespaces: [String]? = nil,
    namespaceSelectors: [LabelSelector]? = nil, serviceSelectors: [LabelSelector]? = nil,
    defaults: AddressPoolSpec.Defaults? = nil
) -> AddressPool {
    let allocation: AddressPoolSpec.ServiceAllocation? =
        priority == nil && namespaces == nil && namespaceSelectors == nil && serviceSelectors == nil
        ? nil
        : AddressPoolSpec.ServiceAllocation(
            priority: priority, namespaces: namespaces, namespaceSelectors: namespaceSelectors,
            serviceSelectors: serviceSelectors)
    return AddressPool(
        metadata: ObjectMeta(name: name),
        spec: AddressPoolSpec(
            addresses: addresses, autoAssign: autoAssign, avoidBuggyIPs: avoidBuggyIPs, disabled: disabled,
            serviceAllocation: allocation, defaults: defaults))
}

func makeNamespace(_ name: String, labels: [String: String] = [:]) -> Namespace {
    Namespace(metadata: ObjectMeta(name: name, labels: labels))
}
