import ArgumentParser
import Foundation
import SwitchyardABI
import SwitchyardCore
import SwitchyardDatapath

/// Prepares a backend host for direct server return, in the network namespace it runs in.
struct BackendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backend",
        abstract: "Set up (or --remove) a backend host: decap on tc ingress, VIPs on lo, rp_filter, MSS.",
        discussion: """
            The decap program strips IPIP, IPv6-in-IPv6 and (with --gue-port) GUE. VIPs go on lo so the
            local stack accepts the inner packets and answers from the VIP, straight to the client. Strict
            rp_filter would drop the decapsulated packets; ARP for the VIPs is suppressed. TCP from the
            VIPs advertises a lower MSS (policy routing table 4242, advmss) so encapsulated segments fit
            the LB's MTU.
            """)

    @Option(help: "Comma-separated VIPs.") var vip: String
    @Option(help: "ipip or gue (ipip is always accepted).") var encap: String = "ipip"
    @Option(help: "GUE UDP port.") var guePort: UInt16 = UInt16(SY_DEFAULT_GUE_PORT)
    @Option(help: "Interface the tunnels arrive on (default: the default route's).") var interface: String?
    @Option(help: "Path MTU between client and LB the MSS is derived from.") var pathMTU: Int = 1500
    @Flag(help: "Undo everything.") var remove = false

    func run() throws {
        let vips = try vip.split(separator: ",").map { text -> IPAddress in
            guard let a = IPAddress(text.trimmingCharacters(in: .whitespaces)) else {
                throw CommandFailure("--vip: '\(text)' is not an address")
            }
            return a
        }
        guard encap == "ipip" || encap == "gue" else { throw CommandFailure("--encap: expected ipip or gue") }
        let ifname = try interface ?? defaultRouteInterface()
        var report = DSRHostSetup.Report()
        if remove {
            try? TCAttachment.detachIngress(interface: ifname)
            for v in vips {
                try? DSRHostSetup.removeLoopbackAddress(v, report: &report)
                try? DSRHostSetup.removeRule(from: v, report: &report)
            }
            for family in [IPAddress.Family.v4, .v6] {
                _ = try? DSRHostSetup.setMSSRoute(family: family, advmss: nil, report: &report)
            }
            print("backend: removed decap from \(ifname), \(vips.count) VIP(s) from lo")
            return
        }
        if let reason = Privileges.bpfUnavailableReason() {
            printError("backend: \(reason)")
            throw ExitCode(2)
        }
        let decap = try DecapDatapath()
        try decap.setGUEPort(encap == "gue" ? guePort : 0)
        try TCAttachment.attachIngress(program: decap.programFD, interface: ifname)
        try DSRHostSetup.setSysctls(interface: ifname, report: &report)
        for v in vips { try DSRHostSetup.addLoopbackAddress(v, report: &report) }
        for family in [IPAddress.Family.v4, .v6] {
            let ofFamily = vips.filter { $0.family == family }
            guard !ofFamily.isEmpty else { continue }
            // Lower MSS for TCP answering from the VIPs: encapsulation must fit the path MTU.
            let mss = DSRHostSetup.advertisedMSS(inner: family, outer: family, gue: encap == "gue", pathMTU: pathMTU)
            if try DSRHostSetup.setMSSRoute(family: family, advmss: mss, report: &report) {
                for v in ofFamily { try DSRHostSetup.addRule(from: v, report: &report) }
            }
        }
        for warning in report.warnings { printError("backend: \(warning)") }
        print(
            "backend: decap on \(ifname) (tc ingress, "
                + "\(encap == "gue" ? "IPIP/IP6IP6 + GUE port \(guePort)" : "IPIP/IP6IP6")), VIPs on lo: "
                + "\(vips.map(\.description).joined(separator: ", "))"
        )
    }

    private func defaultRouteInterface() throws -> String {
        let route = try sh(["ip", "-4", "route", "show", "default"])
        let words = route.split(separator: " ")
        guard let dev = words.firstIndex(of: "dev"), dev + 1 < words.count else {
            throw CommandFailure("no default route to take the interface from; pass --interface")
        }
        return String(words[dev + 1])
    }

    @discardableResult
    private func sh(_ argv: [String]) throws -> String { try NetworkNamespace.run(argv) }
}
