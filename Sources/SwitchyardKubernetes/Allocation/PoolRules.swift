import SwitchyardCore

/// An AddressPool as the allocator applies it: the spec's defaults filled in, the addresses
/// parsed once, and the rule of which Services it serves.
struct PoolRules: Hashable {
    var name: String
    var addresses: PoolAddresses
    var autoAssign: Bool
    var disabled: Bool
    var priority: Int32?
    var namespaces: [String]
    var namespaceSelectors: [LabelSelector]
    var serviceSelectors: [LabelSelector]
    var mode: ForwardingMode?
    var flowKey: FlowKeyKind?
    var invalidDefaults: [String]

    init(_ pool: AddressPool) {
        name = pool.metadata.name ?? ""
        addresses = PoolAddresses(entries: pool.spec.addresses, avoidBuggyIPs: pool.spec.avoidBuggyIPs ?? false)
        autoAssign = pool.spec.autoAssign ?? true
        disabled = pool.spec.disabled ?? false
        priority = pool.spec.serviceAllocation?.priority
        namespaces = pool.spec.serviceAllocation?.namespaces ?? []
        namespaceSelectors = pool.spec.serviceAllocation?.namespaceSelectors ?? []
        serviceSelectors = pool.spec.serviceAllocation?.serviceSelectors ?? []
        mode = pool.spec.defaults?.mode.flatMap(ForwardingMode.init(rawValue:))
        flowKey = pool.spec.defaults?.flowKey.flatMap(FlowKeyKind.init(rawValue:))
        var invalid: [String] = []
        if let text = pool.spec.defaults?.mode, mode == nil {
            invalid.append("defaults.mode: \"\(text)\" is neither stateless nor stateful")
        }
        if let text = pool.spec.defaults?.flowKey, flowKey == nil {
            invalid.append("defaults.flowKey: \"\(text)\" is neither connection nor source-ip")
        }
        invalidDefaults = invalid
    }

    /// Valid and not disabled: may make new allocations. A pool with an entry that does not parse
    /// makes none until it is fixed (its Valid condition says which entry), so a typo never
    /// hands out a half-intended range; its parsed entries still cover existing addresses.
    var allocates: Bool { !disabled && addresses.errors.isEmpty && selectorErrors.isEmpty }

    /// Selectors the server would reject (and the values of `defaults` it would not know), named
    /// for the pool's Valid condition. Such a pool makes no new allocations either.
    var selectorErrors: [String] {
        var errors: [String] = []
        for (index, selector) in namespaceSelectors.enumerated() {
            errors += selector.validationErrors.map { "namespaceSelectors[\(index)]: \($0)" }
        }
        for (index, selector) in serviceSelectors.enumerated() {
            errors += selector.validationErrors.map { "serviceSelectors[\(index)]: \($0)" }
        }
        errors += invalidDefaults
        return errors
    }

    /// MetalLB's rule: `namespaces` and `namespaceSelectors` together list the namespaces served
    /// (empty both = all); `serviceSelectors` must match one when given.
    func serves(namespace: String, namespaceLabels: [String: String], serviceLabels: [String: String]) -> Bool {
        if !namespaces.isEmpty || !namespaceSelectors.isEmpty {
            let listed = namespaces.contains(namespace)
            guard listed || namespaceSelectors.contains(where: { $0.matches(namespaceLabels) }) else { return false }
        }
        if !serviceSelectors.isEmpty, !serviceSelectors.contains(where: { $0.matches(serviceLabels) }) {
            return false
        }
        return true
    }

    /// Pools are tried by priority (lower first, none last), then by name.
    static func precedes(_ lhs: PoolRules, _ rhs: PoolRules) -> Bool {
        switch (lhs.priority, rhs.priority) {
        case (let left?, let right?) where left != right: left < right
        case (.some, nil): true
        case (nil, .some): false
        default: lhs.name < rhs.name
        }
    }
}
