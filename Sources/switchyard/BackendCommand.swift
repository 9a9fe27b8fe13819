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

    static let table = "4242"

    func run() throws {
        let vips = try vip.split(separator: ",").map { text -> IPAddress in
            guard let a = IPAddress(text.trimmingCharacters(in: .whitespaces)) else {
                throw CommandFailure("--vip: '\(text)' is not an address")
            }
            return a
        }
        guard encap == "ipip" || encap == "gue" else { throw CommandFailure("--encap: expected ipip or gue") }
        let ifname = try interface ?? defaultRouteInterface()
        if remove {
            try? TCAttachment.detachIngress(interface: ifname)
            for v in vips {
                _ = try? sh(["ip", "addr", "del", prefix(v), "dev", "lo"])
                _ = try? sh(["ip", family(v), "rule", "del", "from", prefix(v), "table", Self.table])
            }
            _ = try? sh(["ip", "-4", "route", "flush", "table", Self.table])
            _ = try? sh(["ip", "-6", "route", "flush", "table", Self.table])
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
        // By path components, not a dotted key: interface names may hold dots (VLANs: eth0.100).
        for conf in ["all", "default", "lo", ifname] {
            try sysctl(["net", "ipv4", "conf", conf, "rp_filter"], "0")
        }
        try sysctl(["net", "ipv4", "conf", "all", "arp_ignore"], "1")
        try sysctl(["net", "ipv4", "conf", "all", "arp_announce"], "2")
        for v in vips {
            try sh(["ip", "addr", "replace", prefix(v), "dev", "lo"])
            // Lower MSS for TCP answering from the VIP: encapsulation must fit the path MTU.
            let overhead = v.family == .v4 ? (encap == "gue" ? 28 : 20) : (encap == "gue" ? 48 : 40)
            let mss = pathMTU - (v.family == .v4 ? 40 : 60) - overhead
            let routes = try sh(["ip", family(v), "route", "show", "default"]).split(separator: "\n")
            if let route = routes.first {
                _ = try? sh(["ip", family(v), "rule", "del", "from", prefix(v), "table", Self.table])
                try sh(["ip", family(v), "rule", "add", "from", prefix(v), "table", Self.table, "pref", Self.table])
                let spec = route.split(separator: " ").map(String.init).filter {
                    !["proto", "kernel", "onlink", "metric", "pref", "medium"].contains($0) && Int($0) == nil
                }
                try sh(["ip", family(v), "route", "replace"] + spec + ["table", Self.table, "advmss", "\(mss)"])
            } else {
                printError("backend: no \(v.family) default route: MSS for \(v) left as is")
            }
        }
        print(
            "backend: decap on \(ifname) (tc ingress, \(encap == "gue" ? "IPIP/IP6IP6 + GUE port \(guePort)" : "IPIP/IP6IP6")), VIPs on lo: \(vips.map(\.description).joined(separator: ", "))"
        )
    }

    private func prefix(_ a: IPAddress) -> String { a.family == .v4 ? "\(a)/32" : "\(a)/128" }
    private func family(_ a: IPAddress) -> String { a.family == .v4 ? "-4" : "-6" }

    private func defaultRouteInterface() throws -> String {
        let route = try sh(["ip", "-4", "route", "show", "default"])
        let words = route.split(separator: " ")
        guard let dev = words.firstIndex(of: "dev"), dev + 1 < words.count else {
            throw CommandFailure("no default route to take the interface from; pass --interface")
        }
        return String(words[dev + 1])
    }

    private func sysctl(_ components: [String], _ value: String) throws {
        let path = "/proc/sys/" + components.joined(separator: "/")
        guard FileManager.default.fileExists(atPath: path) else {
            printError("backend: \(path) does not exist; left as is")
            return
        }
        try value.write(toFile: path, atomically: false, encoding: .utf8)
    }

    @discardableResult
    private func sh(_ argv: [String]) throws -> String { try NetworkNamespace.run(argv) }
}
