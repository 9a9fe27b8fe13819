import SwitchyardABI

extension ConfigChecker {
    /// Rules that span services or tie services to the node.
    mutating func crossCheck(node: NodeSettings, spec: NodeSpec, services: [PlacedService]) {
        let nodePath = FieldPath.key("node")
        var firstKey: [ServiceKey: PlacedService] = [:]
        var firstName: [String: PlacedService] = [:]
        var guePortOfBackend: [IPAddress: (port: UInt16, from: PlacedService)] = [:]
        var missingSource: Set<IPAddress.Family> = []
        var shardOfVIP: [IPAddress: PlacedService] = [:]
        for placed in services {
            let service = placed.service
            // A VIP is one host route: announced by one shard's nodes or by none.
            if let first = shardOfVIP[service.key.vip] {
                if first.service.shard != service.shard, first.index != placed.index {
                    let theirs = first.service.shard.map { "shard \($0)" } ?? "no shard"
                    report(
                        placed.path.key("shard"),
                        "VIP \(service.key.vip) has \(theirs) in \(first.entryName); every service of a VIP needs "
                            + "the same shard, since the VIP is announced as one route",
                        firstAt: first.path.key("shard"))
                }
            } else {
                shardOfVIP[service.key.vip] = placed
            }
            if let first = firstKey[service.key] {
                report(
                    placed.path.key("ports").index(placed.portIndex), "duplicate service \(service.key)",
                    firstAt: first.path.key("ports").index(first.portIndex))
            } else {
                firstKey[service.key] = placed
            }
            // Names identify entries (a multi-port entry's services add /port/protocol to it).
            if let first = firstName[placed.entryName], first.index != placed.index {
                report(
                    placed.path.key("name"), "duplicate service name '\(placed.entryName)'",
                    firstAt: first.path.key("name"))
            } else if firstName[placed.entryName] == nil {
                firstName[placed.entryName] = placed
            }
            let members = service.ringMembers.count
            let perBackend = ConfigValidation.slotsPerBackend
            let slots = perBackend * members
            if members > 0, node.maglevTableSize < slots, isValid(nodePath.key("maglevTableSize")) {
                report(
                    nodePath.key("maglevTableSize"),
                    "\(node.maglevTableSize) is under \(perBackend) × \(members) "
                        + "backends of \(service.name); Maglev spreads unevenly below that (use a prime ≥ "
                        + "\(Primes.next(atLeast: slots)))")
            }
            for backend in service.backends {
                if backend.address.family == .v4, spec.ipv4Source == nil { missingSource.insert(.v4) }
                if backend.address.family == .v6, spec.ipv6Source == nil { missingSource.insert(.v6) }
                guard service.encap == .gue else { continue }
                if let other = guePortOfBackend[backend.address], other.port != service.guePort {
                    // A backend host's decap program listens on one GUE port.
                    report(
                        placed.path.key("guePort"),
                        "GUE port clash: backend \(backend.address) already receives "
                            + "GUE on port \(other.port); a backend host decapsulates one GUE port",
                        firstAt: other.from.path.key("guePort"))
                } else if guePortOfBackend[backend.address] == nil {
                    guePortOfBackend[backend.address] = (service.guePort, placed)
                }
            }
            let overhead = service.encap == .gue ? Int(SY_OVERHEAD_GUE6) : Int(SY_OVERHEAD_IP6IP6)
            let left = node.mtu - overhead
            if service.key.vip.family == .v6, left < ConfigValidation.ipv6MinimumMTU, isValid(nodePath.key("mtu")) {
                report(
                    nodePath.key("mtu"),
                    "\(node.mtu) leaves \(left) bytes for IPv6 service \(service.name) after "
                        + "encapsulation; IPv6 needs \(ConfigValidation.ipv6MinimumMTU) (RFC 8200 §5)")
            }
        }
        for family in missingSource.sorted(by: { $0.rawValue < $1.rawValue }) {
            let key = family == .v4 ? "ipv4Source" : "ipv6Source"
            report(
                nodePath.key(key),
                "required: some backends are \(family) and packets to them need an outer "
                    + "\(family) source")
        }
        if let bgp = node.bgp {
            let families = Set(services.map(\.service.key.vip.family)).subtracting(missingSource)
            for family in families.sorted(by: { $0.rawValue < $1.rawValue }) {
                let key = family == .v4 ? "ipv4Source" : "ipv6Source"
                guard bgp.nextHop(for: family, node: node) == nil, isValid(nodePath.key(key)) else { continue }
                report(
                    nodePath.key(key),
                    "required with bgp: \(family) VIPs are announced with this node's \(family) address as "
                        + "next hop (or give a peer an \(family) sourceAddress)")
            }
        }
    }
}
