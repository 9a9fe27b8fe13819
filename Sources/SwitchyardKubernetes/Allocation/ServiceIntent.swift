import SwitchyardCore

/// What a Service asks of the allocator, read once from its spec and annotations. Problems in
/// the annotations are collected, not thrown: the Service's condition lists every one.
struct ServiceIntent: Hashable {
    enum FamilyPolicy: Hashable {
        case single, preferDual, requireDual
    }

    /// Wanted families, primary first.
    var families: [IPAddress.Family]
    var policy: FamilyPolicy
    /// At most one per family.
    var requested: [IPAddress.Family: IPAddress]
    var poolName: String?
    var sharingKey: String?
    var crossNamespace: Bool
    /// (port, protocol) pairs, for the sharing clash check.
    var ports: Set<PortAndProtocol>
    var mode: ForwardingMode?
    var flowKey: FlowKeyKind?
    /// `sessionAffinity: ClientIP`.
    var clientIPAffinity: Bool
    var problems: [String]

    struct PortAndProtocol: Hashable {
        var port: Int32
        var proto: String
    }

    /// The part of the intent other Services' sharing depends on: when it changes, the Service's
    /// shared addresses are checked again.
    var sharingProfile: SharingProfile {
        SharingProfile(key: sharingKey, crossNamespace: crossNamespace, ports: ports, mode: mode)
    }

    struct SharingProfile: Hashable {
        var key: String?
        var crossNamespace: Bool
        var ports: Set<PortAndProtocol>
        var mode: ForwardingMode?
    }

    init(_ service: Service) {
        let annotations = service.metadata.annotations ?? [:]
        var problems: [String] = []

        let listed = (service.spec.ipFamilies ?? []).compactMap { text -> IPAddress.Family? in
            switch text {
            case "IPv4": .v4
            case "IPv6": .v6
            default: nil
            }
        }
        var families: [IPAddress.Family] = []
        for family in listed where !families.contains(family) { families.append(family) }
        switch service.spec.ipFamilyPolicy {
        case "RequireDualStack":
            policy = .requireDual
            for family in [IPAddress.Family.v4, .v6] where !families.contains(family) { families.append(family) }
        case "PreferDualStack":
            policy = .preferDual
            if families.isEmpty { families = [.v4, .v6] }
        default:
            policy = .single
            families = [families.first ?? .v4]
        }
        self.families = families

        var requested: [IPAddress.Family: IPAddress] = [:]
        func request(_ text: String, from source: String) {
            guard let address = IPAddress(text) else {
                problems.append("\(source): \"\(text)\" is not an IP address")
                return
            }
            if let existing = requested[address.family], existing != address {
                problems.append("\(source): more than one \(address.family) address requested")
                return
            }
            requested[address.family] = address
        }
        if let single = service.spec.loadBalancerIP?.trimmingWhitespace, !single.isEmpty {
            request(single, from: "spec.loadBalancerIP")
        }
        if let list = annotations[SwitchyardNames.loadBalancerIPs] {
            let pieces = list.split(separator: ",", omittingEmptySubsequences: false).map(\.trimmingWhitespace)
            if pieces.count > 2 {
                problems.append("\(SwitchyardNames.loadBalancerIPs): at most one address per family")
            }
            for piece in pieces { request(piece, from: SwitchyardNames.loadBalancerIPs) }
        }
        self.requested = requested

        poolName = annotations[SwitchyardNames.addressPool]
        if let name = poolName, !Self.isDNSSubdomain(name) {
            problems.append("\(SwitchyardNames.addressPool): \"\(name)\" is not a valid pool name")
        }
        sharingKey = annotations[SwitchyardNames.allowSharedIP]
        if sharingKey == "" { problems.append("\(SwitchyardNames.allowSharedIP): the sharing key is empty") }
        switch annotations[SwitchyardNames.sharingCrossNamespace] {
        case nil, "false": crossNamespace = false
        case "true": crossNamespace = true
        case let other?:
            crossNamespace = false
            problems.append("\(SwitchyardNames.sharingCrossNamespace): \"\(other)\" is neither \"true\" nor \"false\"")
        }
        mode = nil
        if let text = annotations[SwitchyardNames.mode] {
            mode = ForwardingMode(rawValue: text)
            if mode == nil { problems.append("\(SwitchyardNames.mode): \"\(text)\" is neither stateless nor stateful") }
        }
        flowKey = nil
        if let text = annotations[SwitchyardNames.flowKey] {
            flowKey = FlowKeyKind(rawValue: text)
            if flowKey == nil {
                problems.append("\(SwitchyardNames.flowKey): \"\(text)\" is neither connection nor source-ip")
            }
        }
        clientIPAffinity = service.spec.sessionAffinity == "ClientIP"
        ports = Set(
            (service.spec.ports ?? []).map { PortAndProtocol(port: $0.port, proto: $0.protocol ?? "TCP") })
        self.problems = problems
    }

    /// RFC 1123 subdomain, as Kubernetes names cluster-scoped objects.
    static func isDNSSubdomain(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        let allowed = name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 46 }
        guard allowed, let first = name.utf8.first, let last = name.utf8.last else { return false }
        func alphanumeric(_ byte: UInt8) -> Bool { (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) }
        return alphanumeric(first) && alphanumeric(last)
    }
}
