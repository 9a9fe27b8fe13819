/// `node.bgp`, `node.shard` and the per-service announcement settings (`shard`, `communities`,
/// `largeCommunities`).
extension ConfigChecker {
    /// `vipFamilies`: the families of the configured VIPs, which peers carry by default.
    mutating func checkBGP(
        _ spec: BGPSpec, at path: FieldPath, node: NodeSettings, nodeSpec: NodeSpec,
        vipFamilies: Set<IPAddress.Family>
    ) -> BGPSettings {
        let asn = asNumber(required(spec.asn, path.key("asn")), path.key("asn"))
        let routerIDPath = path.key("routerID")
        let routerID = parsed(spec.routerID, routerIDPath, expected: "an IPv4 address other than 0.0.0.0") {
            IPv4Address($0).flatMap { $0.isUnspecified ? nil : $0 }
        }
        // The identifier defaults to the IPv4 tunnel source; a bad ipv4Source is already reported.
        if spec.routerID == nil, nodeSpec.ipv4Source == nil {
            report(
                routerIDPath,
                "required: the node has no ipv4Source to take the BGP identifier from "
                    + "(RFC 4271 §4.2: an IPv4 address unique in the AS)")
        }
        let hold = holdSeconds(spec.holdSeconds, path.key("holdSeconds"))
        let drain = seconds(spec.drainSeconds, path.key("drainSeconds"), in: ConfigValidation.drainSecondsRange)
        let peersPath = path.key("peers")
        let specs = required(spec.peers, peersPath) ?? []
        if spec.peers?.isEmpty == true { report(peersPath, "needs at least one peer to announce the VIPs to") }
        var peers: [BGPPeerSettings] = []
        var firstAt: [HostAndPort: Int] = [:]
        for (index, peerSpec) in specs.enumerated() {
            let at = peersPath.index(index)
            guard let peer = checkPeer(peerSpec, at: at, vipFamilies: vipFamilies) else { continue }
            let endpoint = HostAndPort(address: peer.address, port: peer.port)
            if let first = firstAt[endpoint] {
                report(
                    at.key("address"), "duplicate peer \(peer.address) port \(peer.port)",
                    firstAt: peersPath.index(first).key("address"))
                continue
            }
            firstAt[endpoint] = index
            // A bad source address is already reported; a missing one is reported here.
            let nodeSource = peer.address.family == .v4 ? nodeSpec.ipv4Source : nodeSpec.ipv6Source
            if peer.bfd != nil, peerSpec.sourceAddress == nil, nodeSource == nil {
                report(
                    at.key("bfd"),
                    "needs a local address to send from and listen on (RFC 5881 §4): set this peer's "
                        + "sourceAddress or node.\(peer.address.family == .v4 ? "ipv4Source" : "ipv6Source")")
            }
            peers.append(peer)
        }
        return BGPSettings(
            asn: asn ?? 0, routerID: routerID ?? node.ipv4Source ?? IPv4Address(0),
            holdSeconds: hold ?? BGPSettings.defaultHoldSeconds, drainSeconds: drain ?? BGPSettings.defaultDrainSeconds,
            peers: peers)
    }

    /// One peer; nil when its address is unusable (nothing else about it can be checked then).
    private mutating func checkPeer(
        _ spec: BGPPeerSpec, at path: FieldPath, vipFamilies: Set<IPAddress.Family>
    ) -> BGPPeerSettings? {
        let address = unicastAddress(required(spec.address, path.key("address")), path.key("address"))
        let asn = asNumber(required(spec.asn, path.key("asn")), path.key("asn"))
        let port = integer(spec.port, path.key("port"), in: ConfigValidation.portRange)
        let password = md5Password(spec.password, path.key("password"))
        let sourcePath = path.key("sourceAddress")
        let source = unicastAddress(spec.sourceAddress, sourcePath)
        if let source, let address, source.family != address.family {
            report(
                sourcePath,
                "is \(source.family) but the peer address \(address) is \(address.family); "
                    + "the session's TCP connection has one family")
        }
        let families = spec.families.map { routeFamilies($0, at: path.key("families")) }
        let bfd = spec.bfd.map { checkBFD($0, at: path.key("bfd")) }
        guard let address else { return nil }
        let byVIPs = RouteFamily.allCases.filter { family in vipFamilies.contains { RouteFamily($0) == family } }
        return BGPPeerSettings(
            address: address, asn: asn ?? 0, port: UInt16(port ?? Int(BGPPeerSettings.defaultPort)),
            password: password, sourceAddress: source,
            families: families ?? (byVIPs.isEmpty ? [RouteFamily(address.family)] : byVIPs), bfd: bfd)
    }

    private mutating func checkBFD(_ spec: BFDSpec, at path: FieldPath) -> BFDSettings {
        let interval = integer(spec.intervalMs, path.key("intervalMs"), in: ConfigValidation.bfdIntervalMsRange)
        let multiplier = integer(spec.multiplier, path.key("multiplier"), in: ConfigValidation.bfdMultiplierRange)
        return BFDSettings(
            intervalMs: interval ?? BFDSettings.defaultIntervalMs,
            multiplier: multiplier ?? BFDSettings.defaultMultiplier)
    }

    /// A list of `ipv4` / `ipv6`, each at most once, not empty.
    private mutating func routeFamilies(_ names: [String], at path: FieldPath) -> [RouteFamily] {
        if names.isEmpty { report(path, "needs at least one of ipv4, ipv6 (leave it out for the VIPs' families)") }
        var families: [RouteFamily] = []
        var firstAt: [RouteFamily: Int] = [:]
        for (index, name) in names.enumerated() {
            guard let family: RouteFamily = choice(name, path.index(index)) else { continue }
            if let first = firstAt[family] {
                report(path.index(index), "duplicate family \(family.rawValue)", firstAt: path.index(first))
                continue
            }
            firstAt[family] = index
            families.append(family)
        }
        return families
    }

    /// A 4-octet AS number a node or router may have.
    mutating func asNumber(_ value: Int?, _ path: FieldPath) -> UInt32? {
        guard let value else { return nil }
        let range = ConfigValidation.asnRange
        guard range.contains(value) else {
            return reject(
                path, expected: "an AS number from \(range.lowerBound) to \(range.upperBound) (RFC 6793)",
                got: "\(value)")
        }
        guard value != ConfigValidation.asTrans else {
            return refuse(
                path, "23456 is AS_TRANS (RFC 6793 §9), a stand-in for 2-octet speakers; use the real AS number")
        }
        return UInt32(value)
    }

    private mutating func holdSeconds(_ value: Int?, _ path: FieldPath) -> UInt16? {
        guard let value else { return nil }
        let range = ConfigValidation.holdSecondsRange
        guard value == 0 || range.contains(value) else {
            return reject(
                path, expected: "0 or an integer from \(range.lowerBound) to \(range.upperBound) (RFC 4271 §4.2)",
                got: "\(value)")
        }
        return UInt16(value)
    }

    private mutating func md5Password(_ text: String?, _ path: FieldPath) -> String? {
        guard let password = nonEmpty(text, path) else { return nil }
        let limit = ConfigValidation.md5PasswordMaxBytes
        guard password.utf8.count <= limit else {
            return refuse(
                path, "is \(password.utf8.count) bytes; a TCP-MD5 key (RFC 2385) is at most \(limit) bytes on Linux")
        }
        return password
    }

    /// `node.shard` or a service's `shard`.
    mutating func shard(_ value: Int?, _ path: FieldPath) -> UInt32? {
        integer(value, path, in: ConfigValidation.shardRange).map(UInt32.init)
    }

    /// A service's `communities`: `ASN:VALUE` each, without GRACEFUL_SHUTDOWN, which is the
    /// drain's to add.
    mutating func communities(_ texts: [String]?, _ path: FieldPath) -> [RouteCommunity] {
        guard let texts else { return [] }
        return texts.enumerated().compactMap { index, text in
            let at = path.index(index)
            let expected = "ASN:VALUE with each from 0 to 65535 (RFC 1997), e.g. 65000:100"
            guard let community = parsed(text, at, expected: expected, { RouteCommunity($0) }) else { return nil }
            guard community != .gracefulShutdown else {
                return refuse(
                    at, "65535:0 is GRACEFUL_SHUTDOWN (RFC 8326), which the agent adds itself while the node drains")
            }
            return community
        }
    }

    /// A service's `largeCommunities`: `A:B:C` each.
    mutating func largeCommunities(_ texts: [String]?, _ path: FieldPath) -> [LargeRouteCommunity] {
        guard let texts else { return [] }
        return texts.enumerated().compactMap { index, text in
            let expected = "A:B:C with each from 0 to 4294967295 (RFC 8092), e.g. 65000:1:2"
            return parsed(text, path.index(index), expected: expected) { LargeRouteCommunity($0) }
        }
    }
}

/// A peer as a TCP endpoint: two entries for one endpoint would be two sessions to one router.
private struct HostAndPort: Hashable {
    let address: IPAddress
    let port: UInt16
}
