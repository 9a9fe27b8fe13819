import SwitchyardCore

/// What one pod on this node needs for DSR: the Service addresses it must accept (on its `lo`) and the port
/// mappings of the Services it serves.
public struct PodPlan: Sendable, Hashable {
    public var podAddress: IPAddress
    public var addresses: [IPAddress]
    public var mappings: [PortMapping]
    /// The Services (for logs), sorted.
    public var services: [NamespacedName]

    public init(
        podAddress: IPAddress, addresses: [IPAddress], mappings: [PortMapping], services: [NamespacedName]
    ) {
        self.podAddress = podAddress
        self.addresses = addresses
        self.mappings = mappings
        self.services = services
    }
}

/// Services and EndpointSlices → the pods of one node that are DSR backends, and what each needs (pure).
/// Every listed endpoint counts, terminating ones too: a draining pod still answers its connections.
public struct PodPlanner: Sendable {
    public var translator: LBServiceTranslator
    public var nodeName: String

    public init(nodeName: String, translator: LBServiceTranslator = LBServiceTranslator()) {
        self.nodeName = nodeName
        self.translator = translator
    }

    public func plans(_ objects: ClusterObjects) -> [IPAddress: PodPlan] {
        var addresses: [IPAddress: Set<IPAddress>] = [:]
        var mappings: [IPAddress: Set<PortMapping>] = [:]
        var services: [IPAddress: Set<NamespacedName>] = [:]
        for service in objects.services.values where translator.isOurs(service) {
            let key = NamespacedName(service)
            let serviceAddresses = LBServiceTranslator.addresses(of: service).addresses
            guard !serviceAddresses.isEmpty else { continue }
            for slice in objects.slices(of: key) {
                let family: IPAddress.Family
                switch slice.addressType {
                case "IPv4": family = .v4
                case "IPv6": family = .v6
                default: continue
                }
                let vips = serviceAddresses.filter { $0.family == family }
                let pods = (slice.endpoints ?? []).filter { $0.nodeName == nodeName }.flatMap(\.addresses)
                    .compactMap { IPAddress($0) }.filter { $0.family == family }
                guard !vips.isEmpty, !pods.isEmpty else { continue }
                var sliceMappings: [PortMapping] = []
                for port in service.spec.ports ?? [] {
                    guard let name = LBServiceTranslator.protocolName(port.protocol),
                        let proto = L4Protocol(name: name),
                        let slicePort = (slice.ports ?? []).first(where: {
                            ($0.name ?? "") == (port.name ?? "")
                                && LBServiceTranslator.protocolName($0.protocol) == name
                        }), let target = slicePort.port, (1...65535).contains(target), (1...65535).contains(port.port),
                        target != port.port
                    else { continue }
                    for vip in vips {
                        sliceMappings.append(
                            PortMapping(
                                vip: vip, proto: proto, servicePort: UInt16(port.port),
                                targetPort: UInt16(target)))
                    }
                }
                for pod in pods {
                    addresses[pod, default: []].formUnion(vips)
                    mappings[pod, default: []].formUnion(sliceMappings)
                    services[pod, default: []].insert(key)
                }
            }
        }
        var plans: [IPAddress: PodPlan] = [:]
        for (pod, vips) in addresses {
            plans[pod] = PodPlan(
                podAddress: pod, addresses: vips.sorted(), mappings: (mappings[pod] ?? []).sorted(),
                services: (services[pod] ?? []).sorted())
        }
        return plans
    }
}
