import SwitchyardCore

/// What the allocator writes: Service status (ingress and our condition) and pool status.
extension AddressAllocator {
    /// Status writes for Services whose observed status differs from the decision, one in
    /// flight per Service.
    mutating func statusWrites(at now: KubeTime) -> [AllocatorAction] {
        var actions: [AllocatorAction] = []
        for key in dirty.sorted() {
            guard serviceWrites[key] == nil, let service = services[key] else { continue }
            let desired: ServiceStatus?
            let release: Bool
            if isOurs(service), imported.contains(key) {
                desired = desiredStatus(key, service, at: now)
                release = false
            } else if clearing.contains(key) {
                desired = Self.clearedStatus(service.status)
                release = true
            } else {
                continue
            }
            guard let desired, !Self.matches(observed: service.status, desired: desired) else { continue }
            let version = service.metadata.resourceVersion
            let write = ServiceStatusWrite(
                key: key, uid: service.metadata.uid, resourceVersion: version, status: desired)
            actions.append(.writeServiceStatus(write))
            serviceWrites[key] = .inFlight(basedOn: version, release: release)
        }
        dirty.removeAll()
        return actions
    }

    /// Ingress = the held addresses (primary family first) with the configured ipMode; conditions = the
    /// observed ones with ours replaced in place.
    private func desiredStatus(_ key: NamespacedName, _ service: Service, at now: KubeTime) -> ServiceStatus? {
        guard let outcome = outcomes[key], let intent = intents[key] else { return nil }
        let addresses = orderedAddresses(holdings[key] ?? [:], intent: intent)
        let ingress = addresses.map { LoadBalancerIngress(ip: $0.description, ipMode: configuration.ipMode.rawValue) }
        let condition = Condition(
            type: SwitchyardNames.conditionType, status: addresses.isEmpty ? "False" : "True",
            observedGeneration: service.metadata.generation, lastTransitionTime: now.rfc3339,
            reason: outcome.reason.rawValue, message: outcome.message)
        let conditions = Self.merging([condition], into: service.status?.conditions ?? [])
        return ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: ingress), conditions: conditions)
    }

    static func clearedStatus(_ observed: ServiceStatus?) -> ServiceStatus {
        let conditions = (observed?.conditions ?? []).filter { $0.type != SwitchyardNames.conditionType }
        return ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: []), conditions: conditions)
    }

    /// Replaces conditions of the same type in place (appending new types), keeping the old
    /// `lastTransitionTime` when the status did not flip.
    static func merging(_ ours: [Condition], into observed: [Condition]) -> [Condition] {
        var result = observed
        for var condition in ours {
            if let index = result.firstIndex(where: { $0.type == condition.type }) {
                if result[index].status == condition.status {
                    condition.lastTransitionTime = result[index].lastTransitionTime
                }
                result[index] = condition
                var later = index + 1
                while later < result.count {
                    if result[later].type == condition.type {
                        result.remove(at: later)
                    } else {
                        later += 1
                    }
                }
            } else {
                result.append(condition)
            }
        }
        return result
    }

    /// Whether the observed status already says what we would write. Ingress compares by
    /// address; `ipMode` only when the server kept it (before Kubernetes 1.30 the field is
    /// dropped unless its feature gate is on — comparing it would rewrite the status forever).
    static func matches(observed: ServiceStatus?, desired: ServiceStatus) -> Bool {
        let seen = observed?.loadBalancer?.ingress ?? []
        let wanted = desired.loadBalancer?.ingress ?? []
        guard seen.count == wanted.count else { return false }
        for (have, want) in zip(seen, wanted) {
            guard have.ip.flatMap({ IPAddress($0) }) == want.ip.flatMap({ IPAddress($0) }), have.hostname == nil,
                have.ipMode == nil || have.ipMode == want.ipMode
            else { return false }
        }
        return (observed?.conditions ?? []) == (desired.conditions ?? [])
    }

    // MARK: - Pool status

    mutating func poolStatusWrites(at now: KubeTime) -> [AllocatorAction] {
        guard poolStatusDirty else { return [] }
        poolStatusDirty = false
        var actions: [AllocatorAction] = []
        for name in pools.keys.sorted() {
            guard poolWrites[name] == nil, let pool = pools[name], let poolRules = rules[name] else { continue }
            let desired = desiredPoolStatus(poolRules, observed: pool.status, at: now)
            guard desired != pool.status else { continue }
            let version = pool.metadata.resourceVersion
            actions.append(.writePoolStatus(PoolStatusWrite(name: name, resourceVersion: version, status: desired)))
            poolWrites[name] = .inFlight(basedOn: version, release: false)
        }
        return actions
    }

    /// Counts (addresses held or being released inside the pool; what is left) and the Valid and
    /// Overlapping conditions.
    func desiredPoolStatus(_ pool: PoolRules, observed: AddressPoolStatus?, at now: KubeTime) -> AddressPoolStatus {
        var assigned: [IPAddress.Family: UInt64] = [.v4: 0, .v6: 0]
        for range in pool.addresses.ranges { assigned[range.family, default: 0] += UInt64(taken.count(in: range)) }
        func available(_ family: IPAddress.Family) -> Int64 {
            let capacity = pool.addresses.capacity(family)
            let used = assigned[family] ?? 0
            return Int64(clamping: capacity > used ? capacity - used : 0)
        }
        let errors = pool.addresses.errors.map(\.description)
        let reason = errors.isEmpty ? (pool.selectorErrors.isEmpty ? "Valid" : "InvalidSpec") : "InvalidAddresses"
        let problems = errors + pool.selectorErrors
        let valid = Condition(
            type: "Valid", status: problems.isEmpty ? "True" : "False", lastTransitionTime: now.rfc3339,
            reason: reason,
            message: problems.isEmpty
                ? "every address entry parses"
                : problems.joined(separator: "; ") + "; the pool makes no new allocations until fixed")
        let others = orderedPools.filter { $0.name != pool.name && Self.overlap($0.addresses, pool.addresses) }
            .map(\.name).sorted()
        let overlapping = Condition(
            type: "Overlapping", status: others.isEmpty ? "False" : "True", lastTransitionTime: now.rfc3339,
            reason: others.isEmpty ? "NoOverlap" : "OverlapsPool",
            message: others.isEmpty
                ? "no other pool shares an address"
                : "shares addresses with pool \(others.joined(separator: ", ")) "
                    + "(an address is held once, whichever pool gives it)")
        return AddressPoolStatus(
            assignedIPv4: Int64(clamping: assigned[.v4] ?? 0), assignedIPv6: Int64(clamping: assigned[.v6] ?? 0),
            availableIPv4: available(.v4), availableIPv6: available(.v6),
            conditions: Self.merging([valid, overlapping], into: observed?.conditions ?? []))
    }

    static func overlap(_ lhs: PoolAddresses, _ rhs: PoolAddresses) -> Bool {
        lhs.ranges.contains { left in
            rhs.ranges.contains { right in
                left.family == right.family && left.first <= right.last && right.first <= left.last
            }
        }
    }
}
