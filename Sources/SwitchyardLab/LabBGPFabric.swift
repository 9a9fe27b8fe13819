/// The lab's BGP fabric as plain values: the router's AS and addresses on the fabric bridge, one
/// eBGP neighbour per LB node (each in its own AS, so the routers need multipath across ASes),
/// and the timers. Everything the router daemons and the agents are configured with is derived
/// from here, so the two sides cannot disagree; the texts are pure and tested without root.
public struct LabBGPFabric: Sendable, Hashable {
    public struct Node: Sendable, Hashable {
        /// lb1 is 1.
        public var index: Int
        public var asn: Int
        public var address4: String
        public var address6: String
        public var name: String { "lb\(index)" }
    }

    public static let routerASN = 65000
    public static let router4 = "10.77.2.1", router6 = "fd77:2::1"
    /// The only routes the router accepts: host routes inside these (RFC 8212 wants an import
    /// policy on every eBGP session; a node announcing anything else is ignored).
    public static let vipRange4 = "10.77.100.0/24", vipRange6 = "fd77:100::/64"
    /// Short, so a stopped agent without BFD still leaves within ~3 s (RFC 4271 §4.2: 0 or ≥ 3).
    public static let holdSeconds = 3
    /// Long enough for the router to move traffic off a draining node before its withdrawal.
    public static let drainSeconds = 2.0
    /// The longest a BIRD router refuses a peer after a failed session (`error wait time 1, 5`).
    public static let routerErrorWaitSeconds = 5.0
    /// Issue 12's detection target: three missed 300 ms packets, under a second.
    public static let bfdIntervalMs = 300, bfdMultiplier = 3

    public var nodes: [Node]

    public init(lbNodes: Int) {
        nodes = (1...max(lbNodes, 1)).map {
            Node(index: $0, asn: 65100 + $0, address4: "10.77.2.\(10 + $0)", address6: "fd77:2::\(10 + $0)")
        }
    }

    public func node(_ index: Int) -> Node? { nodes.first { $0.index == index } }

    /// `node.bgp` for LB node `index`'s agent (indented to sit under `node:`): one session per
    /// family to the router, from the node's own fabric address, with BFD.
    public func agentYAML(node index: Int) -> String {
        guard let node = node(index) else { return "" }
        let bfd = "bfd: {intervalMs: \(Self.bfdIntervalMs), multiplier: \(Self.bfdMultiplier)}"
        return """
              bgp:
                asn: \(node.asn)
                holdSeconds: \(Self.holdSeconds)
                drainSeconds: \(Self.drainSeconds)
                peers:
                  - {address: \(Self.router4), asn: \(Self.routerASN), sourceAddress: \(node.address4), \
            families: [ipv4], \(bfd)}
                  - {address: "\(Self.router6)", asn: \(Self.routerASN), sourceAddress: "\(node.address6)", \
            families: [ipv6], \(bfd)}
            """
    }
}
