/// `node.bgp` as written (see `BGPSettings` for what each field does and its default).
public struct BGPSpec: Hashable, Sendable {
    public var asn: Int?
    public var routerID: String?
    public var holdSeconds: Int?
    public var drainSeconds: Double?
    public var peers: [BGPPeerSpec]?

    public init(
        asn: Int? = nil, routerID: String? = nil, holdSeconds: Int? = nil, drainSeconds: Double? = nil,
        peers: [BGPPeerSpec]? = nil
    ) {
        self.asn = asn
        self.routerID = routerID
        self.holdSeconds = holdSeconds
        self.drainSeconds = drainSeconds
        self.peers = peers
    }
}

/// One entry of `node.bgp.peers` (see `BGPPeerSettings`).
public struct BGPPeerSpec: Hashable, Sendable {
    public var address: String?
    public var asn: Int?
    public var port: Int?
    public var password: String?
    public var sourceAddress: String?
    /// `ipv4`, `ipv6`.
    public var families: [String]?
    public var bfd: BFDSpec?

    public init(
        address: String? = nil, asn: Int? = nil, port: Int? = nil, password: String? = nil,
        sourceAddress: String? = nil, families: [String]? = nil, bfd: BFDSpec? = nil
    ) {
        self.address = address
        self.asn = asn
        self.port = port
        self.password = password
        self.sourceAddress = sourceAddress
        self.families = families
        self.bfd = bfd
    }
}

/// `bfd` of a peer (see `BFDSettings`).
public struct BFDSpec: Hashable, Sendable {
    public var intervalMs: Int?
    public var multiplier: Int?

    public init(intervalMs: Int? = nil, multiplier: Int? = nil) {
        self.intervalMs = intervalMs
        self.multiplier = multiplier
    }
}
