import SwitchyardABI

extension ConfigChecker {
    mutating func checkNode(_ spec: NodeSpec, at path: FieldPath) -> NodeSettings {
        let name = nonEmpty(required(spec.name, path.key("name")), path.key("name"))
        let v4 = parsed(spec.ipv4Source, path.key("ipv4Source"), expected: "an IPv4 address") { IPv4Address($0) }
        let v6 = parsed(spec.ipv6Source, path.key("ipv6Source"), expected: "an IPv6 address") { IPv6Address($0) }
        let interface = nonEmpty(spec.interface, path.key("interface"))
        let mtu = integer(spec.mtu, path.key("mtu"), in: ConfigValidation.mtuRange)
        let size = maglevTableSize(spec.maglevTableSize, path.key("maglevTableSize"))
        let flows = integer(spec.flowTableCapacity, path.key("flowTableCapacity"), in: ConfigValidation.flowTableRange)
        let rate = integer(spec.newFlowRatePerCPU, path.key("newFlowRatePerCPU"), in: ConfigValidation.newFlowRateRange)
        let idle = seconds(
            spec.flowEvictIdleSeconds, path.key("flowEvictIdleSeconds"),
            in: ConfigValidation.flowEvictIdleRange)
        let pin = absolutePath(spec.pinDirectory, path.key("pinDirectory"))
        let state = absolutePath(spec.stateDirectory, path.key("stateDirectory"))
        let admin = absolutePath(spec.adminSocket, path.key("adminSocket"))
        let metrics = parsed(
            spec.metricsAddress, path.key("metricsAddress"),
            expected: "HOST:PORT, e.g. 127.0.0.1:9400"
        ) { Self.metricsAddress($0) }
        let shard = shard(spec.shard, path.key("shard"))
        let store = spec.flowStore.map { checkFlowStore($0, at: path.key("flowStore")) }
        let mac = "a MAC address like 02:00:00:00:00:01"
        let sourceMAC = parsed(spec.sourceMAC, path.key("sourceMAC"), expected: mac) { MACAddress($0) }
        let nextHopMAC = parsed(spec.nextHopMAC, path.key("nextHopMAC"), expected: mac) { MACAddress($0) }
        // Both or neither: with only one, frames would leave with a guessed address.
        if spec.sourceMAC != nil, spec.nextHopMAC == nil {
            report(path.key("nextHopMAC"), "required with sourceMAC: the two are set together or not at all")
        } else if spec.nextHopMAC != nil, spec.sourceMAC == nil {
            report(path.key("sourceMAC"), "required with nextHopMAC: the two are set together or not at all")
        }
        return NodeSettings(
            name: name ?? "", ipv4Source: v4, ipv6Source: v6, interface: interface,
            mtu: mtu ?? NodeSettings.defaultMTU, maglevTableSize: size ?? Int(SY_MAGLEV_DEFAULT_SIZE),
            flowTableCapacity: flows ?? NodeSettings.defaultFlowTableCapacity,
            newFlowRatePerCPU: rate ?? NodeSettings.defaultNewFlowRatePerCPU,
            flowEvictIdleSeconds: idle ?? NodeSettings.defaultFlowEvictIdleSeconds,
            pinDirectory: pin ?? NodeSettings.defaultPinDirectory,
            stateDirectory: state ?? NodeSettings.defaultStateDirectory,
            metricsAddress: metrics ?? NodeSettings.defaultMetricsAddress,
            adminSocket: admin ?? NodeSettings.defaultAdminSocket, flowStore: store,
            sourceMAC: sourceMAC, nextHopMAC: nextHopMAC, shard: shard)
    }

    /// Maglev needs a prime table size: every backend's permutation then visits every slot.
    mutating func maglevTableSize(_ value: Int?, _ path: FieldPath) -> Int? {
        let sizes = ConfigValidation.maglevSizeRange
        guard let value else { return nil }
        guard sizes.contains(value), Primes.isPrime(value) else {
            let expected = "a prime from \(sizes.lowerBound) to \(sizes.upperBound) (e.g. 65537)"
            return reject(path, expected: expected, got: "\(value)")
        }
        return value
    }

    /// `node.flowStore`: `type: redis` (the default when `address` is given), `redis-cluster`
    /// (the default when `seeds` are), `redis-sentinel`, or `embedded`. Each type takes only its
    /// own fields: a field another type reads is an error, not silently ignored.
    mutating func checkFlowStore(_ spec: FlowStoreSpec, at path: FieldPath) -> FlowStoreSettings {
        let inferred: FlowStoreSettings.Kind =
            spec.address != nil ? .redis : spec.seeds != nil ? .redisCluster : .embedded
        let kind = choice(spec.type, path.key("type")) ?? inferred
        let addressPath = path.key("address")
        let address = parsed(
            kind == .redis ? required(spec.address, addressPath) : spec.address, addressPath,
            expected: "HOST:PORT of a Redis server"
        ) { Self.storeAddress($0) }
        if kind != .redis, spec.address != nil {
            let instead = kind == .embedded ? "the embedded store has no address" : "list the servers under seeds"
            report(addressPath, "is for type redis; \(instead)")
        }
        let seeds = storeSeeds(spec.seeds, path.key("seeds"), kind: kind)
        let masterPath = path.key("masterName")
        let masterName = nonEmpty(
            kind == .redisSentinel ? required(spec.masterName, masterPath) : spec.masterName, masterPath)
        if kind != .redisSentinel, spec.masterName != nil {
            report(masterPath, "is for type redis-sentinel (the name the sentinels monitor the primary under)")
        }
        let user = nonEmpty(spec.user, path.key("user"))
        let password = nonEmpty(spec.password, path.key("password"))
        if spec.user != nil, spec.password == nil {
            report(path.key("password"), "required with user (AUTH user password)")
        }
        let tls = spec.tls.flatMap { storeTLS($0, path.key("tls")) }
        if kind == .embedded {
            for (field, given) in [("user", spec.user), ("password", spec.password)] where given != nil {
                report(path.key(field), "is for the Redis types; the embedded store has no server")
            }
            if spec.tls != nil { report(path.key("tls"), "is for the Redis types; the embedded store has no server") }
        }
        var settings = FlowStoreSettings(
            kind: kind, host: address?.host ?? "", port: address?.port ?? 6379, seeds: seeds, masterName: masterName,
            user: user, password: password, tls: tls,
            path: absolutePath(spec.path, path.key("path")))
        if kind != .embedded, spec.path != nil {
            report(path.key("path"), "is for type embedded (its journal); a Redis store keeps no local file")
        }
        let lifetimes: [(WritableKeyPath<FlowStoreSettings, Int>, Int?, String)] = [
            (\.newFlowSeconds, spec.newFlowSeconds, "newFlowSeconds"),
            (\.tcpIdleSeconds, spec.tcpIdleSeconds, "tcpIdleSeconds"),
            (\.udpIdleSeconds, spec.udpIdleSeconds, "udpIdleSeconds"),
            (\.closingSeconds, spec.closingSeconds, "closingSeconds"),
            (\.refreshSeconds, spec.refreshSeconds, "refreshSeconds"),
        ]
        for (field, value, key) in lifetimes {
            if let valid = integer(value, path.key(key), in: ConfigValidation.storeLifetimeRange) {
                settings[keyPath: field] = valid
            }
        }
        if let entries = integer(spec.maxEntries, path.key("maxEntries"), in: ConfigValidation.storeMaxEntriesRange) {
            settings.maxEntries = entries
        }
        // A used entry must be refreshed before it can expire, or live flows lose their entry.
        let timing = ["newFlowSeconds", "tcpIdleSeconds", "udpIdleSeconds", "refreshSeconds"].map { path.key($0) }
        let shortest = min(settings.newFlowSeconds, settings.tcpIdleSeconds, settings.udpIdleSeconds)
        if timing.allSatisfy(isValid), settings.refreshSeconds >= shortest {
            report(
                path.key("refreshSeconds"),
                "\(settings.refreshSeconds) s must be shorter than the shortest entry "
                    + "lifetime (\(shortest) s), or live entries expire between refreshes")
        }
        return settings
    }

    /// `seeds`: HOST:PORT each, once each; required (at least one) for redis-cluster and
    /// redis-sentinel, refused for the other types.
    private mutating func storeSeeds(_ texts: [String]?, _ path: FieldPath, kind: FlowStoreSettings.Kind) -> [HostPort]
    {
        let wanted = kind == .redisCluster || kind == .redisSentinel
        guard let texts else {
            if wanted { _ = required(texts, path) }
            return []
        }
        guard wanted else {
            report(path, "is for types redis-cluster and redis-sentinel; type \(kind.rawValue) does not read it")
            return []
        }
        if texts.isEmpty {
            report(path, "lists no server; give at least one HOST:PORT (more, so one being down does not matter)")
        }
        var seen: [HostPort: Int] = [:]
        var seeds: [HostPort] = []
        let what = kind == .redisCluster ? "a cluster node" : "a sentinel"
        for (index, text) in texts.enumerated() {
            guard let seed = parsed(text, path.index(index), expected: "HOST:PORT of \(what)", { HostPort($0) }) else {
                continue
            }
            if let first = seen[seed] {
                report(path.index(index), "\(seed) is listed twice", firstAt: path.index(first))
                continue
            }
            seen[seed] = index
            seeds.append(seed)
        }
        return seeds
    }

    /// `tls`: the CA file is required (whom to trust); the client certificate and key go together.
    private mutating func storeTLS(_ spec: FlowStoreTLSSpec, _ path: FieldPath) -> FlowStoreTLS? {
        let ca = absolutePath(required(spec.caFile, path.key("caFile")), path.key("caFile"))
        let certificate = absolutePath(spec.certificateFile, path.key("certificateFile"))
        let key = absolutePath(spec.keyFile, path.key("keyFile"))
        if (spec.certificateFile == nil) != (spec.keyFile == nil) {
            let (missing, given) =
                spec.certificateFile == nil ? ("certificateFile", "keyFile") : ("keyFile", "certificateFile")
            report(path.key(missing), "required with \(given) (a client certificate needs its key)")
        }
        let serverName = nonEmpty(spec.serverName, path.key("serverName"))
        guard let ca else { return nil }
        return FlowStoreTLS(caFile: ca, certificateFile: certificate, keyFile: key, serverName: serverName)
    }
}
