import SwitchyardCore

/// One Service of ours as LB-node config: a `services` entry per (address, port, protocol), built from the
/// Service's status and spec and its EndpointSlices, plus what could not be used.
public struct TranslatedService: Sendable, Hashable {
    public var key: NamespacedName
    /// `creationTimestamp`: an older Service wins a clash with a newer one (as the allocator decides).
    public var created: KubeTime?
    public var specs: [SwitchyardCore.ServiceSpec]
    /// Each problem names the field (`spec.ports[1].protocol: …`); the usable rest is still in `specs`.
    public var problems: [String]
    /// `sessionAffinityConfig.clientIP.timeoutSeconds` when the Service asks for ClientIP affinity. Entries
    /// live by the node's flow-store lifetimes, not by this value (see the README).
    public var affinityTimeoutSeconds: Int?
    /// `spec.loadBalancerSourceRanges` (or the legacy annotation), as written.
    public var sourceRanges: [String]?
}

/// Services and EndpointSlices → the LB node's desired services (pure). The result feeds the same
/// `ConfigValidation` as the YAML file, so every rule of a `services` entry holds for Kubernetes too.
///
/// Endpoint conditions (discovery.k8s.io/v1; a missing `ready`/`serving` means true, a missing
/// `terminating` false): `ready` → `up`; anything else still listed → `draining`: existing connections stay
/// on the pod and new ones go elsewhere. `down` is never used: it re-picks existing flows, and a flow moved
/// to another pod can only be reset there; a pod that is truly gone leaves the slice, and its entries go.
public struct LBServiceTranslator: Sendable {
    public var configuration: AllocatorConfiguration

    /// The legacy annotation for source ranges, read when `spec.loadBalancerSourceRanges` is empty.
    public static let sourceRangesAnnotation = "service.beta.kubernetes.io/load-balancer-source-ranges"
    /// `ipip` (default) or `gue`.
    public static let encapAnnotation = "\(SwitchyardGroup.name)/encap"

    public init(configuration: AllocatorConfiguration = AllocatorConfiguration()) {
        self.configuration = configuration
    }

    public func isOurs(_ service: Service) -> Bool { configuration.serves(service) }

    /// Every Service of ours that has an address, oldest first.
    public func translate(_ objects: ClusterObjects) -> [TranslatedService] {
        let pools = objects.pools.values.map(PoolRules.init).sorted(by: PoolRules.precedes)
        return objects.services.values.filter(isOurs).compactMap { service in
            translate(service, slices: objects.slices(of: NamespacedName(service)), pools: pools)
        }.sorted { ($0.created ?? KubeTime(seconds: .max), $0.key) < ($1.created ?? KubeTime(seconds: .max), $1.key) }
    }

    /// The addresses a Service is reached on: its status's ingress IPs, then `spec.externalIPs`.
    public static func addresses(of service: Service) -> (addresses: [IPAddress], problems: [String]) {
        var addresses: [IPAddress] = []
        var problems: [String] = []
        for (index, ingress) in (service.status?.loadBalancer?.ingress ?? []).enumerated() {
            guard let text = ingress.ip else { continue }
            guard let address = IPAddress(text) else {
                problems.append("status.loadBalancer.ingress[\(index)].ip: \"\(text)\" is not an IP address")
                continue
            }
            if !addresses.contains(address) { addresses.append(address) }
        }
        for (index, text) in (service.spec.externalIPs ?? []).enumerated() {
            guard let address = IPAddress(text) else {
                problems.append("spec.externalIPs[\(index)]: \"\(text)\" is not an IP address")
                continue
            }
            if !addresses.contains(address) { addresses.append(address) }
        }
        return (addresses, problems)
    }

    func translate(_ service: Service, slices: [EndpointSlice], pools: [PoolRules]) -> TranslatedService? {
        let key = NamespacedName(service)
        var (addresses, problems) = Self.addresses(of: service)
        guard !addresses.isEmpty else { return nil }
        let intent = ServiceIntent(service)
        problems += intent.problems
        let pool = pools.first { $0.addresses.covers(addresses[0]) }
        let mode = intent.mode ?? pool?.mode ?? .stateless
        let flowKey = intent.flowKey ?? (intent.clientIPAffinity ? .sourceIP : nil) ?? pool?.flowKey ?? .connection
        let annotations = service.metadata.annotations ?? [:]
        let encap = annotations[Self.encapAnnotation]
        let ranges = Self.sourceRanges(service, problems: &problems)

        var specs: [SwitchyardCore.ServiceSpec] = []
        for (index, port) in (service.spec.ports ?? []).enumerated() {
            guard let proto = Self.protocolName(port.protocol) else {
                problems.append(
                    "spec.ports[\(index)].protocol: \(port.protocol ?? "") is not carried (TCP and UDP are)")
                continue
            }
            for address in addresses {
                // Ranges apply per family; a list with none of this address's family admits no one there
                // (fail closed), so that address is not served rather than served to everyone.
                let familyRanges = ranges?.filter { Self.family(ofPrefix: $0).map { $0 == address.family } ?? true }
                if let ranges, !ranges.isEmpty, familyRanges?.isEmpty ?? true {
                    problems.append(
                        "spec.loadBalancerSourceRanges: no \(address.family) prefix, so \(address) port \(port.port) "
                            + "admits no one and is not served")
                    continue
                }
                let backends = Self.backends(for: port, proto: proto, family: address.family, slices: slices)
                let target = address.family == .v6 ? "[\(address)]:\(port.port)" : "\(address):\(port.port)"
                var spec = SwitchyardCore.ServiceSpec(
                    name: "\(key) \(target)/\(proto)",
                    vip: address.description, ports: [PortSpec(port: Int(port.port), protocol: proto)],
                    mode: mode.rawValue, flowKey: flowKey == .sourceIP ? "sourceIP" : "connection", encap: encap,
                    backends: backends)
                spec.sourceRanges = familyRanges
                specs.append(spec)
            }
        }
        let timeout: Int? =
            intent.clientIPAffinity
            ? Int(service.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? Self.defaultAffinitySeconds) : nil
        return TranslatedService(
            key: key, created: service.metadata.creationTimestamp.flatMap { KubeTime($0) }, specs: specs,
            problems: problems, affinityTimeoutSeconds: timeout, sourceRanges: ranges)
    }

    /// The family a prefix's address part is written in (nil when it is not an address: the config rules
    /// report it).
    static func family(ofPrefix text: String) -> IPAddress.Family? {
        IPAddress(String(text.split(separator: "/", maxSplits: 1).first ?? ""))?.family
    }

    /// Kubernetes' default `sessionAffinityConfig.clientIP.timeoutSeconds` (3 hours).
    public static let defaultAffinitySeconds: Int32 = 10800

    static func protocolName(_ text: String?) -> String? {
        switch text ?? "TCP" {
        case "TCP": "tcp"
        case "UDP": "udp"
        default: nil
        }
    }

    /// `spec.loadBalancerSourceRanges`, else the legacy annotation (comma-separated), as written: the config
    /// rules check each prefix.
    static func sourceRanges(_ service: Service, problems: inout [String]) -> [String]? {
        if let list = service.spec.loadBalancerSourceRanges, !list.isEmpty {
            return list.map(\.trimmingWhitespace)
        }
        guard let text = service.metadata.annotations?[sourceRangesAnnotation] else { return nil }
        let pieces = text.split(separator: ",").map(\.trimmingWhitespace).filter { !$0.isEmpty }
        if pieces.isEmpty { problems.append("\(sourceRangesAnnotation): no prefix in \"\(text)\"") }
        return pieces.isEmpty ? nil : pieces
    }

    /// The Service port's endpoints of one family: the slice port with the same name and protocol gives the
    /// target port (resolved per slice, so named target ports work); one backend per address and port, the
    /// most available condition winning when slices overlap (during a slice split).
    static func backends(
        for port: ServicePort, proto: String, family: IPAddress.Family, slices: [EndpointSlice]
    ) -> [BackendSpec] {
        let addressType = family == .v4 ? "IPv4" : "IPv6"
        var states: [BackendIdentity: BackendState] = [:]
        for slice in slices where slice.addressType == addressType {
            guard
                let slicePort = (slice.ports ?? []).first(where: {
                    ($0.name ?? "") == (port.name ?? "") && protocolName($0.protocol) == proto
                }), let number = slicePort.port, (1...65535).contains(number)
            else { continue }
            for endpoint in slice.endpoints ?? [] {
                let state = Self.state(endpoint.conditions)
                for text in endpoint.addresses {
                    guard let address = IPAddress(text), address.family == family else { continue }
                    let identity = BackendIdentity(address: address, port: UInt16(number))
                    if let known = states[identity], known == .up { continue }
                    states[identity] = state
                }
            }
        }
        return states.sorted { $0.key < $1.key }.map {
            BackendSpec(address: $0.key.address.description, port: Int($0.key.port), state: $0.value.rawValue)
        }
    }

    /// `ready` (nil = ready) → up; otherwise draining (see the type's comment for why never down).
    public static func state(_ conditions: EndpointSlice.Endpoint.Conditions?) -> BackendState {
        let ready = conditions?.ready ?? true
        let terminating = conditions?.terminating ?? false
        return ready && !terminating ? .up : .draining
    }
}
