import SwitchyardCore

/// The allocation rules: release, import, then allocate, one Service at a time, oldest first.
extension AddressAllocator {
    typealias Failure = (family: IPAddress.Family, reason: AssignmentReason, message: String)

    func isOurs(_ service: Service) -> Bool { configuration.serves(service) }

    /// Oldest first by `creationTimestamp` (a missing or bad one sorts last), then namespace/name:
    /// on a tie the order is still the same on every run.
    func byAge(_ keys: some Sequence<NamespacedName>) -> [NamespacedName] {
        let far = KubeTime(seconds: .max)
        return keys.map { ($0, ages[$0] ?? far) }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0)
    }

    /// Releases what stopped being ours, imports what is new, then decides — touching only the
    /// Services that changed or still wait (all of them when a pool or namespace changed), so a
    /// write result costs little with thousands of Services.
    mutating func decide() -> [AllocatorAction] {
        var actions: [AllocatorAction] = []
        for key in releaseCandidates.sorted() {
            guard let service = services[key], !isOurs(service) else {
                releaseCandidates.remove(key)
                continue
            }
            if imported.contains(key) || holdings[key] != nil {
                actions += release(key)
            } else if Self.carriesOurCondition(service), !clearing.contains(key) {
                clearing.insert(key)
                dirty.insert(key)
            }
            if clearing.contains(key), Self.isClean(service.status), serviceWrites[key] == nil {
                clearing.remove(key)
                clearReservation(key)
            }
            if !clearing.contains(key) { releaseCandidates.remove(key) }
        }
        let order: [NamespacedName]
        if everythingChanged {
            let all = ageOrder ?? byAge(services.keys)
            ageOrder = all
            order = all.filter { oursKeys.contains($0) }
        } else {
            order = byAge(dirty.union(unsettled).intersection(oursKeys))
        }
        everythingChanged = false
        for key in order where !imported.contains(key) { actions += importExisting(key) }
        for key in order { actions += reconcile(key) }
        sharingRecheck.removeAll()
        return actions
    }

    /// The Service stopped being ours: free its addresses for others once its status is
    /// cleared (they stay reserved until then), and say so.
    private mutating func release(_ key: NamespacedName) -> [AllocatorAction] {
        let held = (holdings[key] ?? [:]).values.sorted()
        for address in held { unhold(key, address) }
        holdings[key] = nil
        outcomes[key] = nil
        unsettled.remove(key)
        imported.remove(key)
        lastEvent[key] = nil
        sharingRecheck.remove(key)
        clearReservation(key)
        if !held.isEmpty {
            releasing[key] = held
            for address in held { taken.add(address) }
        }
        clearing.insert(key)
        dirty.insert(key)
        guard !held.isEmpty else { return [] }
        let list = held.map(\.description).joined(separator: ", ")
        let why = "the Service is no longer a LoadBalancer of class \(configuration.loadBalancerClass)"
        return [event(key, .normal, "AddressReleased", "released \(list): \(why)")]
    }

    /// Reads the addresses a Service already has (its status is the store). An address an
    /// older Service already holds and cannot share is not taken: this Service is the duplicate.
    private mutating func importExisting(_ key: NamespacedName) -> [AllocatorAction] {
        imported.insert(key)
        dirty.insert(key)
        if clearing.remove(key) != nil { clearReservation(key) }
        guard let service = services[key], let intent = intents[key] else { return [] }
        var actions: [AllocatorAction] = []
        let observed = Self.ingressAddresses(service.status)
        for address in observed where intent.families.contains(address.family) {
            guard holdings[key]?[address.family] == nil else { continue }
            if let (other, problem) = firstSharingProblem(key, intent, address) {
                let message =
                    "\(address) is already held by \(other), which had it first (\(problem)); "
                    + "this Service is the duplicate and gets another address"
                actions.append(event(key, .warning, "DuplicateAddress", message))
                continue
            }
            hold(key, address)
        }
        let reason = service.status?.conditions?.first { $0.type == SwitchyardNames.conditionType }?.reason
        lastEvent[key] = EventSignature(addresses: observed.sorted(), reason: reason)
        return actions
    }

    /// Decides one Service of ours and emits an Event when its allocation changed.
    private mutating func reconcile(_ key: NamespacedName) -> [AllocatorAction] {
        guard let intent = intents[key] else { return [] }
        var notes: [String] = []
        for (family, address) in holdings[key] ?? [:] where !intent.families.contains(family) {
            unhold(key, address)
            notes.append("released \(address): the Service no longer uses \(family)")
        }
        if sharingRecheck.contains(key) {
            for address in (holdings[key] ?? [:]).values.sorted() {
                if let (_, problem) = firstSharingProblem(key, intent, address) {
                    unhold(key, address)
                    notes.append("gave up shared \(address): \(problem)")
                }
            }
        }
        var failures: [Failure] = []
        if intent.problems.isEmpty { failures = allocateMissing(key, intent, notes: &notes) }
        let outcome = makeOutcome(key, intent, failures)
        if outcome.reason == .assigned {
            unsettled.remove(key)
        } else {
            unsettled.insert(key)
        }
        if outcomes[key] != outcome {
            outcomes[key] = outcome
            dirty.insert(key)
        }
        let addresses = (holdings[key] ?? [:]).values.sorted()
        let signature = EventSignature(addresses: addresses, reason: outcome.reason.rawValue)
        guard lastEvent[key] != signature else { return [] }
        lastEvent[key] = signature
        let type: EventRecord.Kind = outcome.reason == .assigned ? .normal : .warning
        let message = ([outcome.message] + notes).joined(separator: "; ")
        return [event(key, type, outcome.reason.rawValue, message)]
    }

    /// Gets each wanted family an address (the requested one, or the lowest free of the first
    /// pool that has one). Returns what could not be had.
    private mutating func allocateMissing(
        _ key: NamespacedName, _ intent: ServiceIntent, notes: inout [String]
    ) -> [Failure] {
        var failures: [Failure] = []
        var added: [IPAddress] = []
        for family in intent.families {
            let current = holdings[key]?[family]
            if let requested = intent.requested[family] {
                guard requested != current else { continue }
                if let problem = requestProblem(key, intent, requested) {
                    failures.append((family, problem.reason, problem.message))
                    continue
                }
                if let current {
                    unhold(key, current)
                    notes.append("moved from \(current) to \(requested) as requested")
                } else {
                    added.append(requested)
                }
                hold(key, requested)
            } else if current == nil {
                switch allocate(key, intent, family) {
                case .success(let address):
                    hold(key, address)
                    added.append(address)
                case .failure(let failure):
                    failures.append((family, failure.reason, failure.message))
                }
            }
        }
        for (family, address) in intent.requested.sorted(by: { $0.key.rawValue < $1.key.rawValue })
        where !intent.families.contains(family) {
            let message = "requested \(address) is \(family), which the Service's ipFamilies do not include"
            failures.append((family, .requestedIPUnavailable, message))
        }
        // RequireDualStack: both or nothing — but never drop an address the Service already had.
        if intent.policy == .requireDual, !failures.isEmpty, (holdings[key] ?? [:]).count < 2 {
            for address in added { unhold(key, address) }
        }
        return failures
    }

    private func makeOutcome(_ key: NamespacedName, _ intent: ServiceIntent, _ failures: [Failure]) -> Outcome {
        let addresses = orderedAddresses(holdings[key] ?? [:], intent: intent)
        let list = addresses.map(\.description).joined(separator: ", ")
        if !intent.problems.isEmpty {
            let kept = addresses.isEmpty ? "" : "; keeps \(list)"
            return Outcome(reason: .invalidAnnotation, message: intent.problems.joined(separator: "; ") + kept)
        }
        let failureText = failures.map { "\($0.family): \($0.message)" }.joined(separator: "; ")
        guard !addresses.isEmpty else {
            return Outcome(reason: failures.first?.reason ?? .noMatchingPool, message: failureText)
        }
        let outside = addresses.filter { poolCovering($0) == nil }
        if !outside.isEmpty {
            let names = outside.map(\.description).joined(separator: ", ")
            let suffix = failures.isEmpty ? "" : "; \(failureText)"
            let message = "keeps \(names) although no pool covers it any more\(suffix)"
            return Outcome(reason: .addressOutsidePool, message: message)
        }
        let refused: Set<AssignmentReason> = [.requestedIPUnavailable, .sharingConflict]
        if let failure = failures.first(where: { refused.contains($0.reason) })
            ?? (intent.policy == .requireDual ? failures.first : nil)
        {
            return Outcome(reason: failure.reason, message: "keeps \(list); \(failureText)")
        }
        let described = addresses.map { address in
            poolCovering(address).map { "\(address) (pool \($0.name))" } ?? address.description
        }
        let suffix = failures.isEmpty ? "" : "; \(failureText)"
        return Outcome(reason: .assigned, message: "assigned \(described.joined(separator: ", "))\(suffix)")
    }

    /// Why `address` may not be taken by this Service as an explicit request, or nil.
    private func requestProblem(
        _ key: NamespacedName, _ intent: ServiceIntent, _ address: IPAddress
    ) -> (reason: AssignmentReason, message: String)? {
        let allowed = orderedPools.contains { pool in
            pool.allocates && pool.addresses.offers(address) && (intent.poolName.map { $0 == pool.name } ?? true)
                && serves(pool, key)
        }
        if !allowed {
            let covering = orderedPools.filter { $0.addresses.covers(address) }.map(\.name)
            if covering.isEmpty {
                return (.requestedIPUnavailable, "requested \(address) is not inside any pool")
            }
            let named = intent.poolName.map { " named \($0)" } ?? ""
            return (
                .requestedIPUnavailable,
                "requested \(address) is in pool \(covering.joined(separator: ", ")) "
                    + "but no enabled, valid pool\(named) "
                    + "that serves this Service offers it"
            )
        }
        if let (other, _) = releasing.first(where: { $0.value.contains(address) }), other != key {
            return (.requestedIPUnavailable, "requested \(address) is still being released by \(other)")
        }
        for other in (holders[address] ?? []).subtracting([key]).sorted() {
            guard let problem = sharingProblem(key, intent, address, holder: other) else { continue }
            if intent.sharingKey != nil, intents[other]?.sharingKey != nil {
                return (.sharingConflict, "requested \(address) cannot be shared: \(problem)")
            }
            return (.requestedIPUnavailable, "requested \(address) is in use: \(problem)")
        }
        return nil
    }

    struct AllocationFailure: Error {
        var reason: AssignmentReason
        var message: String
    }

    /// The address a Service without a request gets in a family: a compatible shared address
    /// with its sharing key first, else the lowest free address of the first candidate pool.
    private func allocate(
        _ key: NamespacedName, _ intent: ServiceIntent, _ family: IPAddress.Family
    ) -> Result<IPAddress, AllocationFailure> {
        let candidates = orderedPools.filter { pool in
            pool.allocates && pool.addresses.hasFamily(family) && serves(pool, key)
                && (intent.poolName.map { $0 == pool.name } ?? pool.autoAssign)
        }
        guard !candidates.isEmpty else {
            if let name = intent.poolName, rules[name] == nil {
                return .failure(AllocationFailure(reason: .noMatchingPool, message: "pool \(name) does not exist"))
            }
            let named = intent.poolName.map { " (the annotation names \($0))" } ?? ""
            let message = "no enabled, valid pool with \(family) addresses serves this Service\(named)"
            return .failure(AllocationFailure(reason: .noMatchingPool, message: message))
        }
        if let sharingKey = intent.sharingKey {
            let shared = holders.keys.filter { address in
                address.family == family && !(holders[address] ?? []).contains(key)
                    && (holders[address] ?? []).contains { intents[$0]?.sharingKey == sharingKey }
                    && (holders[address] ?? []).allSatisfy { sharingProblem(key, intent, address, holder: $0) == nil }
            }.sorted()
            for pool in candidates {
                if let address = shared.first(where: { pool.addresses.offers($0) }) { return .success(address) }
            }
        }
        for pool in candidates {
            if let address = pool.addresses.lowestFree(family, taken: taken.sorted(family)) { return .success(address) }
        }
        let names = candidates.map(\.name).joined(separator: ", ")
        let message = "no free \(family) address in pool \(names)"
        return .failure(AllocationFailure(reason: .poolExhausted, message: message))
    }

    /// The first other holder (by name) `address` cannot be shared with, and why.
    func firstSharingProblem(
        _ key: NamespacedName, _ intent: ServiceIntent, _ address: IPAddress
    ) -> (NamespacedName, String)? {
        for other in (holders[address] ?? []).subtracting([key]).sorted() {
            if let problem = sharingProblem(key, intent, address, holder: other) { return (other, problem) }
        }
        return nil
    }

    /// Why a Service may not share `address` with `holder`, or nil when it may.
    func sharingProblem(
        _ key: NamespacedName, _ intent: ServiceIntent, _ address: IPAddress, holder: NamespacedName
    ) -> String? {
        guard let theirs = intents[holder] else { return nil }
        guard let mine = intent.sharingKey, let their = theirs.sharingKey else {
            let who = intent.sharingKey == nil ? "this Service does" : "\(holder) does"
            return "\(holder) holds it and \(who) not set \(SwitchyardNames.allowSharedIP)"
        }
        guard mine == their else { return "\(holder) holds it with another sharing key" }
        if key.namespace != holder.namespace, !(intent.crossNamespace && theirs.crossNamespace) {
            return "\(holder) is in another namespace and not both set \(SwitchyardNames.sharingCrossNamespace)"
        }
        let clash = intent.ports.intersection(theirs.ports).sorted { ($0.port, $0.proto) < ($1.port, $1.proto) }
        if let first = clash.first { return "\(holder) also uses port \(first.port)/\(first.proto)" }
        let pool = poolCovering(address)
        let myMode = resolvedMode(intent, pool: pool)
        let theirMode = resolvedMode(theirs, pool: pool)
        if myMode != theirMode { return "\(holder) is \(theirMode.rawValue), this Service is \(myMode.rawValue)" }
        return nil
    }

    func serves(_ pool: PoolRules, _ key: NamespacedName) -> Bool {
        pool.serves(
            namespace: key.namespace, namespaceLabels: namespaces[key.namespace]?.metadata.labels ?? [:],
            serviceLabels: services[key]?.metadata.labels ?? [:])
    }

    /// The pool an address belongs to for settings and counts: the first, in pool order, that covers it.
    func poolCovering(_ address: IPAddress) -> PoolRules? {
        orderedPools.first { $0.addresses.covers(address) }
    }

    func resolvedMode(_ intent: ServiceIntent, pool: PoolRules?) -> ForwardingMode {
        intent.mode ?? pool?.mode ?? .stateless
    }

    func resolvedFlowKey(_ intent: ServiceIntent, pool: PoolRules?) -> FlowKeyKind {
        intent.flowKey ?? (intent.clientIPAffinity ? .sourceIP : nil) ?? pool?.flowKey ?? .connection
    }

    func orderedAddresses(_ held: [IPAddress.Family: IPAddress], intent: ServiceIntent) -> [IPAddress] {
        let wanted = intent.families.compactMap { held[$0] }
        return wanted + held.values.filter { !wanted.contains($0) }.sorted()
    }

    static func ingressAddresses(_ status: ServiceStatus?) -> [IPAddress] {
        (status?.loadBalancer?.ingress ?? []).compactMap { $0.ip.flatMap { IPAddress($0) } }
    }

    static func carriesOurCondition(_ service: Service) -> Bool {
        service.status?.conditions?.contains { $0.type == SwitchyardNames.conditionType } ?? false
    }

    static func isClean(_ status: ServiceStatus?) -> Bool {
        (status?.loadBalancer?.ingress ?? []).isEmpty
            && !(status?.conditions?.contains { $0.type == SwitchyardNames.conditionType } ?? false)
    }
}
