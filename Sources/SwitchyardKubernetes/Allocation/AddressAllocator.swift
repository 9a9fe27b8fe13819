import SwitchyardCore

/// Gives `LoadBalancer` Services of Switchyard's class addresses from `AddressPool`s, as a pure
/// state machine: objects seen and write results in (`handle`), status writes and Events out.
/// The I/O layer lists and watches, feeds every change in, executes the actions and feeds their
/// results back. Time is an input (condition transition times); there is no clock.
///
/// The rules (issue 13), each with its own test in `AddressAllocatorTests`:
/// - nothing happens until pools, namespaces and Services have all been listed; then every
///   existing ingress address of our Services is imported, oldest Service first (the status is
///   the store), and only after that do pending Services get addresses, oldest first;
/// - a live address is never moved: pool shrink, deletion or `disabled` keep it (reason
///   `AddressOutsidePool` when no pool covers it); it goes only when the Service is deleted, stops
///   being ours (type or class), asks for another address that can be had, or breaks the sharing
///   rules by its own change (then it alone loses the shared address and is allocated afresh);
/// - a changed request (`spec.loadBalancerIP`, `switchyard.io/loadBalancerIPs`) is honoured only
///   when the new address can be had; otherwise the old address stays and the condition says
///   `RequestedIPUnavailable` (status True) — and the Service moves to the requested address
///   as soon as it becomes free, since that is the one address its owner asked for;
/// - an imported address of a family the Service does not use (`ipFamilies`) is not kept;
/// - the condition's status is True exactly when the Service holds an address; its reason says
///   the most important fact (see `outcome`);
/// - `flow-key` resolves as: the annotation, else `source-ip` when `sessionAffinity: ClientIP`,
///   else the pool's default, else `connection` (the Service's own setting beats the pool's);
/// - one status write per Service at a time; a conflict waits for the fresh object; a refused
///   write waits for the Service to change; an address being released stays reserved until the
///   clearing write is done or the Service is gone;
/// - a pool with an entry, selector or default that does not parse makes no new allocations
///   (Valid False says why); an invalid pool or selector never widens who is served.
public struct AddressAllocator: Sendable {
    public let configuration: AllocatorConfiguration

    // What was observed.
    var pools: [String: AddressPool] = [:]
    var rules: [String: PoolRules] = [:]
    /// `rules` in the order pools are tried.
    var orderedPools: [PoolRules] = []
    var namespaces: [String: Namespace] = [:]
    var services: [NamespacedName: Service] = [:]
    var intents: [NamespacedName: ServiceIntent] = [:]
    /// Every Service key, oldest first (`byAge`); nil when a Service came, went or changed age.
    var ageOrder: [NamespacedName]?
    /// `creationTimestamp` parsed once.
    var ages: [NamespacedName: KubeTime] = [:]
    /// Services that are ours (`isOurs`) as last observed.
    var oursKeys: Set<NamespacedName> = []
    /// Services not ours that may hold or show something of ours (checked, then dropped).
    var releaseCandidates: Set<NamespacedName> = []
    /// Services of ours whose last decision was not `Assigned`: decided again on every input.
    var unsettled: Set<NamespacedName> = []
    var poolsSynced = false, namespacesSynced = false, servicesSynced = false

    // What was decided.
    var holdings: [NamespacedName: [IPAddress.Family: IPAddress]] = [:]
    var outcomes: [NamespacedName: Outcome] = [:]
    var holders: [IPAddress: Set<NamespacedName>] = [:]
    var taken = TakenAddresses()
    /// Addresses of Services that stopped being ours, reserved until their status is cleared.
    var releasing: [NamespacedName: [IPAddress]] = [:]
    /// Services that stopped being ours and whose status must be cleared.
    var clearing: Set<NamespacedName> = []
    /// Services already imported (their existing ingress read once).
    var imported: Set<NamespacedName> = []
    /// Services whose sharing-relevant settings changed since the last decision.
    var sharingRecheck: Set<NamespacedName> = []
    var lastEvent: [NamespacedName: EventSignature] = [:]

    // Writes.
    var serviceWrites: [NamespacedName: WriteState] = [:]
    var poolWrites: [String: WriteState] = [:]
    var dirty: Set<NamespacedName> = []
    var everythingChanged = true
    var poolStatusDirty = true

    /// The decision for one Service: the reason and message of its condition.
    struct Outcome: Hashable {
        var reason: AssignmentReason
        var message: String
    }

    /// What an Event was last emitted for, so one state gets one Event.
    struct EventSignature: Hashable {
        var addresses: [IPAddress]
        var reason: String?
    }

    enum WriteState: Hashable {
        case inFlight(basedOn: String?, release: Bool)
        /// Refused or conflicted: wait for a version other than this one.
        case waitingForChange(from: String?)
    }

    public init(configuration: AllocatorConfiguration = AllocatorConfiguration()) {
        self.configuration = configuration
    }

    /// True once pools, namespaces and Services have all been listed.
    public var isSynced: Bool { poolsSynced && namespacesSynced && servicesSynced }

    /// Feeds one observation in; returns what to do now. Nothing is returned before the three
    /// lists are in.
    public mutating func handle(_ input: AllocatorInput, at now: KubeTime) -> [AllocatorAction] {
        var actions: [AllocatorAction] = []
        switch input {
        case .poolsListed(let list):
            let fresh = Dictionary(list.map { ($0.metadata.name ?? "", $0) }, uniquingKeysWith: { $1 })
            for name in pools.keys where fresh[name] == nil { removePool(name) }
            for pool in list { upsertPool(pool) }
            poolsSynced = true
        case .namespacesListed(let list):
            namespaces = Dictionary(list.map { ($0.metadata.name ?? "", $0) }, uniquingKeysWith: { $1 })
            everythingChanged = true
            namespacesSynced = true
        case .servicesListed(let list):
            let fresh = Set(list.map(NamespacedName.init))
            for key in services.keys where !fresh.contains(key) { actions += removeService(key) }
            for service in list { upsertService(service) }
            servicesSynced = true
        case .poolUpserted(let pool):
            upsertPool(pool)
        case .poolDeleted(let name):
            removePool(name)
        case .namespaceUpserted(let namespace):
            namespaces[namespace.metadata.name ?? ""] = namespace
            everythingChanged = true
        case .namespaceDeleted(let name):
            namespaces[name] = nil
            everythingChanged = true
        case .serviceUpserted(let service):
            upsertService(service)
        case .serviceDeleted(let key):
            actions += removeService(key)
        case .serviceStatusWritten(let write, let outcome):
            serviceWritten(write, outcome)
        case .poolStatusWritten(let write, let outcome):
            poolWritten(write, outcome)
        }
        guard isSynced else { return [] }
        actions += decide()
        actions += statusWrites(at: now)
        actions += poolStatusWrites(at: now)
        return actions
    }

    /// The resolved settings of a Service holding an address (nil otherwise).
    public func settings(for key: NamespacedName) -> ServiceSettings? {
        guard let held = holdings[key], !held.isEmpty, let intent = intents[key] else { return nil }
        let addresses = orderedAddresses(held, intent: intent)
        let pool = addresses.first.flatMap(poolCovering)
        return ServiceSettings(
            addresses: addresses, pool: pool?.name, mode: resolvedMode(intent, pool: pool),
            flowKey: resolvedFlowKey(intent, pool: pool))
    }

    /// Every Service's held addresses (primary family first); for status pages and tests.
    public var assignments: [NamespacedName: [IPAddress]] {
        var result: [NamespacedName: [IPAddress]] = [:]
        for (key, held) in holdings where !held.isEmpty {
            result[key] = intents[key].map { orderedAddresses(held, intent: $0) } ?? held.values.sorted()
        }
        return result
    }

    /// The condition reason and message decided for a Service of ours.
    public func assignmentReason(for key: NamespacedName) -> (reason: AssignmentReason, message: String)? {
        outcomes[key].map { ($0.reason, $0.message) }
    }

    // MARK: - Observations

    private mutating func upsertPool(_ pool: AddressPool) {
        let name = pool.metadata.name ?? ""
        if case .waitingForChange(let version) = poolWrites[name], version != pool.metadata.resourceVersion {
            poolWrites[name] = nil
        }
        let specChanged = pools[name]?.spec != pool.spec
        pools[name] = pool
        poolStatusDirty = true
        if specChanged {
            rules[name] = PoolRules(pool)
            poolsChanged()
        }
    }

    private mutating func removePool(_ name: String) {
        pools[name] = nil
        rules[name] = nil
        poolWrites[name] = nil
        poolsChanged()
    }

    private mutating func poolsChanged() {
        orderedPools = rules.values.sorted(by: PoolRules.precedes)
        everythingChanged = true
        poolStatusDirty = true
    }

    private mutating func upsertService(_ service: Service) {
        let key = NamespacedName(service)
        let intent = ServiceIntent(service)
        if let previous = intents[key],
            previous.sharingProfile != intent.sharingProfile
                || services[key]?.metadata.namespace != service.metadata.namespace
        {
            sharingRecheck.insert(key)
        }
        if services[key]?.metadata.creationTimestamp != service.metadata.creationTimestamp || services[key] == nil {
            ageOrder = nil
            ages[key] = service.metadata.creationTimestamp.flatMap { KubeTime($0) }
        }
        if isOurs(service) {
            oursKeys.insert(key)
        } else {
            oursKeys.remove(key)
            releaseCandidates.insert(key)
        }
        services[key] = service
        intents[key] = intent
        dirty.insert(key)
        if case .waitingForChange(let version) = serviceWrites[key], version != service.metadata.resourceVersion {
            serviceWrites[key] = nil
        }
    }

    private mutating func removeService(_ key: NamespacedName) -> [AllocatorAction] {
        var actions: [AllocatorAction] = []
        if let held = holdings[key], !held.isEmpty, isSynced {
            let list = held.values.sorted().map(\.description).joined(separator: ", ")
            actions.append(event(key, .normal, "AddressReleased", "released \(list): the Service was deleted"))
        }
        for address in holdings[key]?.values.map({ $0 }) ?? [] { unhold(key, address) }
        clearReservation(key)
        holdings[key] = nil
        outcomes[key] = nil
        services[key] = nil
        ageOrder = nil
        ages[key] = nil
        oursKeys.remove(key)
        releaseCandidates.remove(key)
        unsettled.remove(key)
        intents[key] = nil
        imported.remove(key)
        clearing.remove(key)
        sharingRecheck.remove(key)
        lastEvent[key] = nil
        serviceWrites[key] = nil
        dirty.remove(key)
        poolStatusDirty = true
        return actions
    }

    private mutating func serviceWritten(_ write: ServiceStatusWrite, _ outcome: WriteOutcome<Service>) {
        let key = write.key
        guard case .inFlight(let basedOn, let release) = serviceWrites[key], basedOn == write.resourceVersion,
            services[key]?.metadata.uid == write.uid
        else { return }
        switch outcome {
        case .succeeded(let service):
            serviceWrites[key] = nil
            if release { clearReservation(key) }
            upsertService(service)
        case .conflict, .rejected:
            serviceWrites[key] = .waitingForChange(from: basedOn)
        }
    }

    private mutating func poolWritten(_ write: PoolStatusWrite, _ outcome: WriteOutcome<AddressPool>) {
        let name = write.name
        guard case .inFlight(let basedOn, _) = poolWrites[name], basedOn == write.resourceVersion else { return }
        switch outcome {
        case .succeeded(let pool):
            poolWrites[name] = nil
            upsertPool(pool)
        case .conflict, .rejected:
            poolWrites[name] = .waitingForChange(from: basedOn)
        }
    }

    // MARK: - Holding addresses

    mutating func hold(_ key: NamespacedName, _ address: IPAddress) {
        holdings[key, default: [:]][address.family] = address
        if holders[address, default: []].insert(key).inserted { taken.add(address) }
        poolStatusDirty = true
    }

    mutating func unhold(_ key: NamespacedName, _ address: IPAddress) {
        if holdings[key]?[address.family] == address { holdings[key]?[address.family] = nil }
        guard holders[address]?.remove(key) != nil else { return }
        if holders[address]?.isEmpty == true { holders[address] = nil }
        taken.remove(address)
        poolStatusDirty = true
    }

    mutating func clearReservation(_ key: NamespacedName) {
        for address in releasing[key] ?? [] { taken.remove(address) }
        if releasing[key] != nil { poolStatusDirty = true }
        releasing[key] = nil
    }

    func event(_ key: NamespacedName, _ type: EventRecord.Kind, _ reason: String, _ message: String) -> AllocatorAction
    {
        .recordEvent(
            EventRecord(
                involvedObject: key, involvedUID: services[key]?.metadata.uid, type: type, reason: reason,
                message: message))
    }
}
