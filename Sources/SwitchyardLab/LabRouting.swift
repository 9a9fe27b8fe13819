/// How the lab's router learns which LB nodes carry the VIPs.
///
/// `static`: the lab writes the router's ECMP route itself (`ip route replace … nexthop …`), the
/// fastest way to move traffic and what every scenario was first measured with. `bgp`: the router
/// runs a real routing daemon and the LB nodes' agents announce their VIPs to it (DESIGN "BGP"),
/// so a node joins when its agent announces and leaves by drain, by its agent's death (hold timer,
/// BFD) or by a cut link — as on a real fabric.
public enum LabRouting: Sendable, Hashable, CustomStringConvertible {
    case `static`
    case bgp(router: LabRouter)

    /// From the CLI's `--routing static|bgp` and `--router bird|frr`; nil router means BIRD.
    /// The error says which flag to change.
    public static func parse(routing: String, router: String?) throws(LabRoutingError) -> LabRouting {
        switch routing {
        case "static":
            guard router == nil else { throw LabRoutingError("--router \(router ?? "") needs --routing bgp") }
            return .static
        case "bgp":
            guard let router else { return .bgp(router: .bird) }
            guard let parsed = LabRouter(rawValue: router) else {
                throw LabRoutingError("--router: expected bird or frr, got '\(router)'")
            }
            return .bgp(router: parsed)
        default:
            throw LabRoutingError("--routing: expected static or bgp, got '\(routing)'")
        }
    }

    /// The daemon on the router, nil when routes are written statically.
    public var router: LabRouter? {
        guard case .bgp(let router) = self else { return nil }
        return router
    }

    public var description: String {
        switch self {
        case .static: "static"
        case .bgp(let router): "bgp/\(router.rawValue)"
        }
    }
}

/// The routing daemon in the router namespace: BIRD 2 or FRR (zebra, bgpd, bfdd).
public enum LabRouter: String, Sendable, Hashable, CaseIterable {
    case bird
    case frr
}

/// A `--routing`/`--router` combination the lab cannot run, with the flag to change.
public struct LabRoutingError: Error, Hashable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
