import SwitchyardABI

extension ConfigChecker {
    /// One entry of `services` becomes one `Service` per port; none when its name or VIP is unusable.
    mutating func checkService(_ spec: ServiceSpec, index: Int) -> [PlacedService] {
        let path = FieldPath.key("services").index(index)
        let name = nonEmpty(required(spec.name, path.key("name")), path.key("name"))
        let vip = unicastAddress(required(spec.vip, path.key("vip")), path.key("vip"))
        let mode: ServiceMode = choice(spec.mode, path.key("mode")) ?? .stateless
        let flowKey: FlowKeyKind = choice(spec.flowKey, path.key("flowKey")) ?? .connection
        let encap: Encapsulation = choice(spec.encap, path.key("encap")) ?? .ipip
        let encapKnown = isValid(path.key("encap"))
        let guePort = integer(spec.guePort, path.key("guePort"), in: ConfigValidation.portRange)
        let health = spec.healthCheck.map { checkHealthCheck($0, at: path.key("healthCheck")) }
        let shard = shard(spec.shard, path.key("shard"))
        let communities = communities(spec.communities, path.key("communities"))
        let largeCommunities = largeCommunities(spec.largeCommunities, path.key("largeCommunities"))
        let sourceRanges = sourceRanges(spec.sourceRanges, path.key("sourceRanges"), vip: vip)
        if spec.guePort != nil, encapKnown, encap != .gue {
            report(path.key("guePort"), "is set but encap is \(encap.rawValue); set encap: gue or remove guePort")
        }

        let ports = checkPorts(required(spec.ports, path.key("ports")), at: path.key("ports"))
        let backends = checkBackends(
            required(spec.backends, path.key("backends")) ?? [], at: path.key("backends"),
            ports: ports.map(\.port), vip: encapKnown && encap == .ipip ? vip : nil)

        guard let name, let vip else { return [] }
        return ports.map { entry in
            let service = Service(
                name: ports.count == 1 ? name : "\(name)/\(entry.port)/\(entry.proto)",
                key: ServiceKey(vip: vip, port: entry.port, proto: entry.proto),
                mode: mode, flowKey: flowKey, encap: encap,
                guePort: UInt16(guePort ?? Int(SY_DEFAULT_GUE_PORT)),
                backends: backends.map {
                    Backend(address: $0.address, port: $0.port ?? entry.port, weight: $0.weight, state: $0.state)
                },
                healthCheck: health, shard: shard, communities: communities, largeCommunities: largeCommunities,
                sourceRanges: sourceRanges)
            return PlacedService(service: service, entryName: name, index: index, portIndex: entry.index)
        }
    }

    /// A service's `sourceRanges`: prefixes without host bits, at most SY_SOURCE_RANGES_MAX (the
    /// datapath's per-service bound), each once; a list that names none of the VIP's family would
    /// drop every client, so it is refused too.
    private mutating func sourceRanges(_ texts: [String]?, _ path: FieldPath, vip: IPAddress?) -> [IPPrefix] {
        guard let texts else { return [] }
        let limit = Int(SY_SOURCE_RANGES_MAX)
        if texts.count > limit {
            report(
                path,
                "has \(texts.count) prefixes, at most \(limit) are allowed per service; "
                    + "merge neighbouring prefixes into shorter ones")
        }
        var first: [IPPrefix: Int] = [:]
        var ranges: [IPPrefix] = []
        var allParsed = true
        for (index, text) in texts.enumerated() {
            let at = path.index(index)
            guard let prefix = sourceRange(text, at) else {
                allParsed = false
                continue
            }
            if let earlier = first[prefix] {
                report(at, "duplicate prefix \(prefix)", firstAt: path.index(earlier))
                continue
            }
            first[prefix] = index
            ranges.append(prefix)
        }
        if let vip, allParsed, !ranges.isEmpty, !ranges.contains(where: { $0.address.family == vip.family }) {
            let family = vip.family == .v4 ? "IPv4" : "IPv6"
            let all = vip.family == .v4 ? "0.0.0.0/0" : "::/0"
            report(
                path,
                "has no \(family) prefix but VIP \(vip) is \(family), so every client would be dropped; "
                    + "add an \(family) prefix (\(all) admits all) or remove sourceRanges")
        }
        return ranges
    }

    /// One prefix of `sourceRanges`; host bits below the length are refused with the prefix meant.
    private mutating func sourceRange(_ text: String, _ at: FieldPath) -> IPPrefix? {
        if let prefix = IPPrefix(text) { return prefix }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, let address = IPAddress(parts[0]), let length = Int(parts[1]),
            let meant = IPPrefix(covering: address, length: length)
        {
            return refuse(at, "'\(text)' has host bits set below /\(length); did you mean \(meant)?")
        }
        return reject(at, expected: "a prefix such as 203.0.113.0/24 or 2001:db8::/32", got: "'\(text)'")
    }

    /// The valid `{port, protocol}` entries, each with its index in `ports`.
    private mutating func checkPorts(_ specs: [PortSpec]?, at path: FieldPath)
        -> [(port: UInt16, proto: L4Protocol, index: Int)]
    {
        guard let specs else { return [] }
        if specs.isEmpty { report(path, "needs at least one {port, protocol}") }
        var ports: [(port: UInt16, proto: L4Protocol, index: Int)] = []
        for (index, spec) in specs.enumerated() {
            let at = path.index(index)
            let port = integer(required(spec.port, at.key("port")), at.key("port"), in: ConfigValidation.portRange)
            let proto = parsed(spec.protocol, at.key("protocol"), expected: "tcp or udp") { L4Protocol(name: $0) }
            if let port, spec.protocol == nil || proto != nil {
                ports.append((UInt16(port), proto ?? .tcp, index))
            }
        }
        return ports
    }

    /// The usable backends. `ipipVIP` is the VIP when the service uses ipip, which carries one
    /// family only: then every backend must be of the VIP's family.
    private mutating func checkBackends(
        _ specs: [BackendSpec], at path: FieldPath, ports: [UInt16],
        vip ipipVIP: IPAddress?
    ) -> [CheckedBackend] {
        var backends: [CheckedBackend] = []
        var first: [ServiceKeyAndBackend: Int] = [:]
        for (index, spec) in specs.enumerated() {
            let at = path.index(index)
            let address = unicastAddress(required(spec.address, at.key("address")), at.key("address"))
            let port = integer(spec.port, at.key("port"), in: ConfigValidation.portRange).map(UInt16.init)
            let weight = integer(spec.weight, at.key("weight"), in: ConfigValidation.weightRange).map(UInt16.init)
            let state: BackendState? = choice(spec.state, at.key("state"))
            guard let address else { continue }
            if let vip = ipipVIP, address.family != vip.family {
                report(
                    at.key("address"),
                    "backend is \(address.family) but VIP \(vip) is \(vip.family); ipip carries "
                        + "one family in the same family, use encap: gue to mix")
            }
            for servicePort in ports {
                let key = ServiceKeyAndBackend(
                    servicePort: servicePort,
                    backend: BackendIdentity(address: address, port: port ?? servicePort))
                if let earlier = first[key] {
                    report(at, "duplicate backend \(key.backend)", firstAt: path.index(earlier))
                    break
                }
                first[key] = index
            }
            backends.append(CheckedBackend(address: address, port: port, weight: weight ?? 1, state: state ?? .up))
        }
        return backends
    }

    mutating func checkHealthCheck(_ spec: HealthCheckSpec, at path: FieldPath) -> HealthCheck {
        var check = HealthCheck()
        if let kind: HealthCheck.Kind = choice(spec.type, path.key("type")) { check.kind = kind }
        if let probePath = parsed(
            spec.path, path.key("path"), expected: "a path starting with /",
            {
                $0.hasPrefix("/") ? $0 : nil
            })
        {
            check.path = probePath
        }
        let seconds = ConfigValidation.probeSecondsRange
        let count = ConfigValidation.riseFallRange
        let statuses = ConfigValidation.expectStatusRange
        check.expectStatus = integer(spec.expectStatus, path.key("expectStatus"), in: statuses) ?? check.expectStatus
        check.intervalSeconds =
            self.seconds(spec.intervalSeconds, path.key("intervalSeconds"), in: seconds)
            ?? check.intervalSeconds
        check.timeoutSeconds =
            self.seconds(spec.timeoutSeconds, path.key("timeoutSeconds"), in: seconds)
            ?? check.timeoutSeconds
        check.rise = integer(spec.rise, path.key("rise"), in: count) ?? check.rise
        check.fall = integer(spec.fall, path.key("fall"), in: count) ?? check.fall
        let timing = [path.key("intervalSeconds"), path.key("timeoutSeconds")]
        if spec.timeoutSeconds != nil, timing.allSatisfy(isValid), check.timeoutSeconds > check.intervalSeconds {
            report(
                path.key("timeoutSeconds"),
                "\(Self.format(check.timeoutSeconds)) s exceeds intervalSeconds "
                    + "\(Self.format(check.intervalSeconds)) s; probes would overlap")
        }
        return check
    }
}

/// A backend entry as checked; its port is nil when it follows each service port.
private struct CheckedBackend {
    let address: IPAddress
    let port: UInt16?
    let weight: UInt16
    let state: BackendState
}

/// A backend as one port of a service sees it: the same address and port twice is a duplicate.
private struct ServiceKeyAndBackend: Hashable {
    let servicePort: UInt16
    let backend: BackendIdentity
}
