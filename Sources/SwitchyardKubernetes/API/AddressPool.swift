/// Switchyard's `AddressPool` (cluster-scoped, `switchyard.io/v1alpha1`): the addresses Services
/// of Switchyard's class may get, with MetalLB `IPAddressPool`-compatible field names so pools
/// carry over. The field semantics are in the contract (docs and CRD); `AddressPoolRules` applies them.
public struct AddressPool: KubeResource, Hashable {
    public static let group = SwitchyardGroup.name
    public static let version = SwitchyardGroup.version
    public static let kind = "AddressPool"
    public static let plural = "addresspools"
    public static let namespaced = false

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: AddressPoolSpec
    public var status: AddressPoolStatus?

    public init(metadata: ObjectMeta, spec: AddressPoolSpec, status: AddressPoolStatus? = nil) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct AddressPoolSpec: Codable, Sendable, Hashable {
    /// CIDRs (`192.0.2.0/28`, `2001:db8::/120`) and ranges (`192.0.2.100-192.0.2.110`).
    public var addresses: [String]
    /// nil reads as true (the CRD defaults it).
    public var autoAssign: Bool?
    public var avoidBuggyIPs: Bool?
    public var disabled: Bool?
    public var serviceAllocation: ServiceAllocation?
    public var defaults: Defaults?

    public init(
        addresses: [String], autoAssign: Bool? = nil, avoidBuggyIPs: Bool? = nil, disabled: Bool? = nil,
        serviceAllocation: ServiceAllocation? = nil, defaults: Defaults? = nil
    ) {
        self.addresses = addresses
        self.autoAssign = autoAssign
        self.avoidBuggyIPs = avoidBuggyIPs
        self.disabled = disabled
        self.serviceAllocation = serviceAllocation
        self.defaults = defaults
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // Required by the CRD; a missing list decodes as empty and is reported invalid, not dropped.
        addresses = try container.decodeIfPresent([String].self, forKey: .addresses) ?? []
        autoAssign = try container.decodeIfPresent(Bool.self, forKey: .autoAssign)
        avoidBuggyIPs = try container.decodeIfPresent(Bool.self, forKey: .avoidBuggyIPs)
        disabled = try container.decodeIfPresent(Bool.self, forKey: .disabled)
        serviceAllocation = try container.decodeIfPresent(ServiceAllocation.self, forKey: .serviceAllocation)
        defaults = try container.decodeIfPresent(Defaults.self, forKey: .defaults)
    }

    /// Which Services may take addresses from the pool, and in what order pools are tried.
    public struct ServiceAllocation: Codable, Sendable, Hashable {
        /// Lower is preferred; a pool without one comes after every pool with one.
        public var priority: Int32?
        public var namespaces: [String]?
        public var namespaceSelectors: [LabelSelector]?
        public var serviceSelectors: [LabelSelector]?

        public init(
            priority: Int32? = nil, namespaces: [String]? = nil, namespaceSelectors: [LabelSelector]? = nil,
            serviceSelectors: [LabelSelector]? = nil
        ) {
            self.priority = priority
            self.namespaces = namespaces
            self.namespaceSelectors = namespaceSelectors
            self.serviceSelectors = serviceSelectors
        }
    }

    /// Forwarding settings for Services allocated from this pool that do not set them.
    public struct Defaults: Codable, Sendable, Hashable {
        /// stateless or stateful.
        public var mode: String?
        /// connection or source-ip.
        public var flowKey: String?

        public init(mode: String? = nil, flowKey: String? = nil) {
            self.mode = mode
            self.flowKey = flowKey
        }
    }
}

public struct AddressPoolStatus: Codable, Sendable, Hashable {
    public var assignedIPv4: Int64?
    public var assignedIPv6: Int64?
    public var availableIPv4: Int64?
    /// Saturates at `Int64.max` (a /64 holds more).
    public var availableIPv6: Int64?
    public var conditions: [Condition]?

    public init(
        assignedIPv4: Int64? = nil, assignedIPv6: Int64? = nil, availableIPv4: Int64? = nil,
        availableIPv6: Int64? = nil, conditions: [Condition]? = nil
    ) {
        self.assignedIPv4 = assignedIPv4
        self.assignedIPv6 = assignedIPv6
        self.availableIPv4 = availableIPv4
        self.availableIPv6 = availableIPv6
        self.conditions = conditions
    }
}
