import SwitchyardCore

/// Turns the YAML document into a `ConfigSpec`: it checks only what is YAML's business (the
/// shape, known keys, scalar types) and leaves every rule to `ConfigValidation`. A field it
/// cannot take is left out of the spec after its problem is recorded.
struct SpecReader {
    let log: ReadLog

    static let topKeys: Set = ["node", "services"]
    static let nodeKeys: Set = [
        "name", "ipv4Source", "ipv6Source", "interface", "mtu", "maglevTableSize", "flowTableCapacity",
        "newFlowRatePerCPU", "flowEvictIdleSeconds", "pinDirectory", "stateDirectory", "metricsAddress", "adminSocket",
        "flowStore", "sourceMAC", "nextHopMAC", "shard", "bgp",
    ]
    static let bgpKeys: Set = ["asn", "routerID", "holdSeconds", "drainSeconds", "peers"]
    static let peerKeys: Set = ["address", "asn", "port", "password", "sourceAddress", "families", "bfd"]
    static let bfdKeys: Set = ["intervalMs", "multiplier"]
    static let storeKeys: Set = [
        "type", "address", "seeds", "masterName", "user", "password", "tls", "path", "newFlowSeconds", "tcpIdleSeconds",
        "udpIdleSeconds",
        "closingSeconds", "refreshSeconds", "maxEntries",
    ]
    static let storeTLSKeys: Set = ["caFile", "certificateFile", "keyFile", "serverName"]
    static let serviceKeys: Set = [
        "name", "vip", "ports", "mode", "flowKey", "encap", "guePort", "backends", "healthCheck", "shard",
        "communities", "largeCommunities", "sourceRanges",
    ]
    static let healthKeys: Set = ["type", "path", "expectStatus", "intervalSeconds", "timeoutSeconds", "rise", "fall"]
    static let portKeys: Set = ["port", "protocol"]
    static let backendKeys: Set = ["address", "port", "weight", "state"]

    func read(_ root: Located) -> ConfigSpec {
        guard let top = MappingReader(root, known: Self.topKeys, log: log) else { return ConfigSpec() }
        return ConfigSpec(
            node: top["node"].map(readNode),
            services: top.sequence("services")?.map(readService))
    }

    /// A field that is not a mapping still yields an (empty) spec: its problem is recorded, and
    /// the core must not report it missing as well.
    private func mapping(_ at: Located, _ known: Set<String>) -> MappingReader? {
        MappingReader(at, known: known, log: log)
    }

    private func readNode(_ at: Located) -> NodeSpec {
        guard let m = mapping(at, Self.nodeKeys) else { return NodeSpec() }
        return NodeSpec(
            name: m.string("name"), ipv4Source: m.string("ipv4Source"), ipv6Source: m.string("ipv6Source"),
            interface: m.string("interface"), mtu: m.integer("mtu"), maglevTableSize: m.integer("maglevTableSize"),
            flowTableCapacity: m.integer("flowTableCapacity"), newFlowRatePerCPU: m.integer("newFlowRatePerCPU"),
            flowEvictIdleSeconds: m.double("flowEvictIdleSeconds"), pinDirectory: m.string("pinDirectory"),
            stateDirectory: m.string("stateDirectory"), metricsAddress: m.string("metricsAddress"),
            adminSocket: m.string("adminSocket"), flowStore: m["flowStore"].map(readFlowStore),
            sourceMAC: m.string("sourceMAC"), nextHopMAC: m.string("nextHopMAC"), shard: m.integer("shard"),
            bgp: m["bgp"].map(readBGP))
    }

    private func readBGP(_ at: Located) -> BGPSpec {
        guard let m = mapping(at, Self.bgpKeys) else { return BGPSpec() }
        return BGPSpec(
            asn: m.integer("asn"), routerID: m.string("routerID"), holdSeconds: m.integer("holdSeconds"),
            drainSeconds: m.double("drainSeconds"), peers: m.sequence("peers")?.map(readPeer))
    }

    private func readPeer(_ at: Located) -> BGPPeerSpec {
        guard let m = mapping(at, Self.peerKeys) else { return BGPPeerSpec() }
        return BGPPeerSpec(
            address: m.string("address"), asn: m.integer("asn"), port: m.integer("port"),
            password: m.string("password"), sourceAddress: m.string("sourceAddress"), families: m.strings("families"),
            bfd: m["bfd"].map(readBFD))
    }

    private func readBFD(_ at: Located) -> BFDSpec {
        guard let m = mapping(at, Self.bfdKeys) else { return BFDSpec() }
        return BFDSpec(intervalMs: m.integer("intervalMs"), multiplier: m.integer("multiplier"))
    }

    private func readFlowStore(_ at: Located) -> FlowStoreSpec {
        guard let m = mapping(at, Self.storeKeys) else { return FlowStoreSpec() }
        return FlowStoreSpec(
            type: m.string("type"), address: m.string("address"), seeds: m.strings("seeds"),
            masterName: m.string("masterName"), user: m.string("user"), password: m.string("password"),
            tls: m["tls"].map(readStoreTLS), path: m.string("path"), newFlowSeconds: m.integer("newFlowSeconds"),
            tcpIdleSeconds: m.integer("tcpIdleSeconds"), udpIdleSeconds: m.integer("udpIdleSeconds"),
            closingSeconds: m.integer("closingSeconds"), refreshSeconds: m.integer("refreshSeconds"),
            maxEntries: m.integer("maxEntries"))
    }

    private func readStoreTLS(_ at: Located) -> FlowStoreTLSSpec {
        guard let m = mapping(at, Self.storeTLSKeys) else { return FlowStoreTLSSpec() }
        return FlowStoreTLSSpec(
            caFile: m.string("caFile"), certificateFile: m.string("certificateFile"), keyFile: m.string("keyFile"),
            serverName: m.string("serverName"))
    }

    private func readService(_ at: Located) -> ServiceSpec {
        guard let m = mapping(at, Self.serviceKeys) else { return ServiceSpec() }
        return ServiceSpec(
            name: m.string("name"), vip: m.string("vip"), ports: m.sequence("ports")?.map(readPort),
            mode: m.string("mode"), flowKey: m.string("flowKey"), encap: m.string("encap"),
            guePort: m.integer("guePort"), backends: m.sequence("backends")?.map(readBackend),
            healthCheck: m["healthCheck"].map(readHealthCheck), shard: m.integer("shard"),
            communities: m.strings("communities"), largeCommunities: m.strings("largeCommunities"),
            sourceRanges: m.strings("sourceRanges"))
    }

    private func readPort(_ at: Located) -> PortSpec {
        guard let m = mapping(at, Self.portKeys) else { return PortSpec() }
        return PortSpec(port: m.integer("port"), protocol: m.string("protocol"))
    }

    private func readBackend(_ at: Located) -> BackendSpec {
        guard let m = mapping(at, Self.backendKeys) else { return BackendSpec() }
        return BackendSpec(
            address: m.string("address"), port: m.integer("port"), weight: m.integer("weight"),
            state: m.string("state"))
    }

    private func readHealthCheck(_ at: Located) -> HealthCheckSpec {
        guard let m = mapping(at, Self.healthKeys) else { return HealthCheckSpec() }
        return HealthCheckSpec(
            type: m.string("type"), path: m.string("path"), expectStatus: m.integer("expectStatus"),
            intervalSeconds: m.double("intervalSeconds"), timeoutSeconds: m.double("timeoutSeconds"),
            rise: m.integer("rise"), fall: m.integer("fall"))
    }
}
