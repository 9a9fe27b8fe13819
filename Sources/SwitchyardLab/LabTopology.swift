/// Where the client reaches the VIPs from.
///
/// `flat`: the client hangs off the router the LB nodes peer with. `twoTier` (seed 001, BGP
/// routing only): the LB nodes peer with that router as an aggregation router, which announces
/// one aggregate per VIP range (10.77.100.0/24, fd77:100::/64) to an upstream router in a
/// namespace of its own; the client hangs off the upstream router, so its VIP traffic goes
/// upstream → aggregation → LB nodes, and the upstream router never sees a VIP host route.
///
///     client ── upstream ── router (aggregation) ── br0 ── lb1 lb2 lb3, be1…be4
///     10.77.1.2   .1 │ 10.77.3.1    10.77.3.2
public enum LabTopology: String, Sendable, Hashable, CaseIterable {
    case flat
    case twoTier = "two-tier"

    /// From the CLI's `--topology`; the error says what to change.
    public static func parse(_ text: String, routing: LabRouting) throws(LabRoutingError) -> LabTopology {
        guard let topology = LabTopology(rawValue: text) else {
            throw LabRoutingError("--topology: expected flat or two-tier, got '\(text)'")
        }
        if topology == .twoTier {
            guard let router = routing.router else {
                throw LabRoutingError("--topology two-tier aggregates BGP routes: add --routing bgp")
            }
            guard router == .bird else {
                throw LabRoutingError("--topology two-tier runs with --router bird (FRR aggregation is not built yet)")
            }
        }
        return topology
    }
}
