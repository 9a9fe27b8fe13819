import Foundation
import Glibc
import SwitchyardDatapath

/// The scenarios only BGP routing can run: lb1 leaves the ECMP group by its own doing — a
/// planned drain, a hung agent, a cut link — and the router has to notice. Each returns the
/// seconds from the change until the router's kernel route no longer listed lb1.
///
/// No connection is expected to fail in either mode: the backend set does not change, so in
/// stateless mode the node that takes lb1's flows picks the same backends from the same Maglev
/// ring, and in stateful mode it also finds their entries in the store. Packets sent to lb1
/// while the router still routes to it are either forwarded (drain, stopped agent: the
/// datapath keeps running) or lost and retransmitted by TCP (cut link).
extension Lab {
    /// Refuses a scenario this lab cannot run, saying what to change.
    func checkCanRun(_ scenario: Scenario) throws {
        guard scenario.needsBGP else { return }
        guard options.routing != .static else {
            throw NetworkNamespace.CommandError(
                description: "\(scenario.rawValue) takes lb1 out of ECMP through BGP: run it with --routing bgp")
        }
        guard ecmp.contains(1), ecmp.count >= 2 else {
            throw NetworkNamespace.CommandError(
                description: "\(scenario.rawValue) needs lb1 and another LB node in the ECMP group, which has "
                    + "\(ecmp.map { "lb\($0)" }); the embedded store routes to lb1 alone: use --store redis "
                    + "or --mode stateless")
        }
    }

    /// lb-drain: `switchyard drain` on lb`i`. GRACEFUL_SHUTDOWN takes it out of the router's
    /// ECMP set at once; after the drain period its agent withdraws the VIPs.
    func drainMidTraffic(_ i: Int) throws -> Double {
        let dropped = try timeRouterDrop(i) { try drain(i) }
        try waitForWithdrawal(i, timeout: LabBGPFabric.drainSeconds + 10)
        ecmp.removeAll { $0 == i }
        log("lb-drain: the router dropped lb\(i) after \(dropped) s; its VIPs are withdrawn")
        return dropped
    }

    /// agent-stop: SIGSTOP to lb`i`'s agent. Its BGP keepalives (and, once the agent runs BFD,
    /// its BFD packets) stop; the router drops it when the hold timer (or BFD) expires. Then
    /// SIGCONT: the agent finds its session gone, reconnects and rejoins.
    func stopAgentMidTraffic(_ i: Int) throws -> Double {
        let agents = pids(lb(i), matching: " agent ")
        guard !agents.isEmpty else { throw NetworkNamespace.CommandError(description: "lb\(i) runs no agent") }
        let dropped: Double
        do {
            dropped = try timeRouterDrop(i) { for pid in agents { kill(pid, SIGSTOP) } }
        } catch {
            for pid in agents { kill(pid, SIGCONT) }
            throw error
        }
        for pid in agents { kill(pid, SIGCONT) }
        log("agent-stop: the router dropped lb\(i) after \(dropped) s; agent continued")
        try rejoin(i, after: "its agent continued")
        return dropped
    }

    /// lb-link-down: lb`i`'s fabric interface goes down inside its namespace, so nothing reaches
    /// the router from it (no BGP, no BFD) and the bridge drops what is sent to it. Restored
    /// once the router has dropped the node.
    func cutLinkMidTraffic(_ i: Int) throws -> Double {
        // IPv6 addresses survive the cut (the kernel's default flushes them); routes are put back.
        try sysctl(lb(i), ["net.ipv6.conf.eth0.keep_addr_on_down": "1"])
        let dropped: Double
        do {
            dropped = try timeRouterDrop(i) { try inNS(lb(i), ["ip", "link", "set", "eth0", "down"]) }
        } catch {
            try? restoreLink(i)
            throw error
        }
        try restoreLink(i)
        log("lb-link-down: the router dropped lb\(i) after \(dropped) s; link restored")
        try rejoin(i, after: "its link came back")
        return dropped
    }

    func restoreLink(_ i: Int) throws {
        try inNS(lb(i), ["ip", "link", "set", "eth0", "up"])
        try inNS(lb(i), ["ip", "route", "replace", "default", "via", LabBGPFabric.router4])
        try inNS(lb(i), ["ip", "-6", "route", "replace", "default", "via", LabBGPFabric.router6])
    }

    /// Waits for lb`i` to be back in the router's route: its agent reconnects on its own, after
    /// its connect-retry wait.
    func rejoin(_ i: Int, after what: String) throws {
        let seconds = try waitForRouterRoute(ecmp, timeout: 60)
        log("lb\(i) is back in the router's route \(String(format: "%.1f", seconds)) s after \(what)")
    }
}
