import Foundation
import SwitchyardCore

/// The host side of direct server return, in the calling thread's network namespace: shared by
/// `switchyard backend` (a host) and `PodDSR` (a pod), so the sysctls, the service addresses on
/// lo and the MSS rule are written in one place.
///
/// - Service addresses go on `lo` as /32 or /128, so the stack accepts the decapsulated packets
///   and answers from them. (A real host could use a dummy link instead; this kernel has no dummy
///   driver, and lo exists in every namespace.)
/// - Strict rp_filter would drop decapsulated packets whose source is not routed back via the
///   interface they came in on; ARP for the service addresses must not be answered or used.
/// - TCP answering from a service address advertises a lower MSS (policy rule `from ADDRESS`
///   → table 4242, whose default route carries `advmss`), so the LB's encapsulated segments fit.
///
/// Commands run as `ip` processes spawned from this thread, which inherit its namespace.
/// Every call is idempotent: it reads what is there and changes only what differs.
public enum DSRHostSetup {
    /// The routing table (and rule preference) of the MSS rule.
    public static let table = 4242

    /// What a call changed, one line each for the log, and what it could not do.
    public struct Report: Hashable, Sendable {
        public var changes: [String] = []
        public var warnings: [String] = []
        public init() {}
    }

    // MARK: sysctls

    /// rp_filter 0 on all, default, lo and `interface`; arp_ignore 1, arp_announce 2 on all.
    public static func setSysctls(interface: String, report: inout Report) throws {
        // By path components, not a dotted key: interface names may hold dots (VLANs: eth0.100).
        var settings = ["all", "default", "lo", interface].map { (["net", "ipv4", "conf", $0, "rp_filter"], "0") }
        settings.append((["net", "ipv4", "conf", "all", "arp_ignore"], "1"))
        settings.append((["net", "ipv4", "conf", "all", "arp_announce"], "2"))
        for (components, value) in settings {
            let path = "/proc/sys/" + components.joined(separator: "/")
            guard let current = try? String(contentsOfFile: path, encoding: .utf8) else {
                report.warnings.append("\(path) does not exist; left as is")
                continue
            }
            if current.trimmingCharacters(in: .whitespacesAndNewlines) == value { continue }
            try value.write(toFile: path, atomically: false, encoding: .utf8)
            report.changes.append("sysctl \(components.dropFirst().joined(separator: ".")) = \(value)")
        }
    }

    // MARK: addresses on lo

    /// The addresses on lo, loopback ones included.
    public static func loopbackAddresses() throws -> Set<IPAddress> {
        let links = try json(["ip", "-j", "addr", "show", "dev", "lo"])
        var result: Set<IPAddress> = []
        for link in links {
            for info in link["addr_info"] as? [[String: Any]] ?? [] {
                if let text = info["local"] as? String, let address = IPAddress(text) { result.insert(address) }
            }
        }
        return result
    }

    public static func addLoopbackAddress(_ address: IPAddress, report: inout Report) throws {
        guard !(try loopbackAddresses().contains(address)) else { return }
        try run(["ip", "addr", "replace", hostPrefix(address), "dev", "lo"])
        report.changes.append("address \(hostPrefix(address)) on lo")
    }

    public static func removeLoopbackAddress(_ address: IPAddress, report: inout Report) throws {
        guard try loopbackAddresses().contains(address) else { return }
        try run(["ip", "addr", "del", hostPrefix(address), "dev", "lo"])
        report.changes.append("address \(hostPrefix(address)) removed from lo")
    }

    // MARK: the MSS rule and route

    /// Sources of the rules `from ADDRESS lookup 4242` (preference 4242) of both families: the
    /// service addresses this setup manages.
    public static func ruleSources() throws -> Set<IPAddress> {
        var result: Set<IPAddress> = []
        for family in ["-4", "-6"] {
            for rule in try json(["ip", "-j", family, "rule", "show"]) {
                guard "\(rule["table"] ?? "")" == "\(table)", rule["priority"] as? Int == table,
                    let text = rule["src"] as? String, let address = IPAddress(text)
                else { continue }
                result.insert(address)
            }
        }
        return result
    }

    public static func addRule(from address: IPAddress, report: inout Report) throws {
        guard !(try ruleSources().contains(address)) else { return }
        try run([
            "ip", familyFlag(address), "rule", "add", "from", hostPrefix(address), "table", "\(table)", "pref",
            "\(table)",
        ])
        report.changes.append("rule from \(hostPrefix(address)) lookup \(table)")
    }

    public static func removeRule(from address: IPAddress, report: inout Report) throws {
        guard try ruleSources().contains(address) else { return }
        try run(["ip", familyFlag(address), "rule", "del", "from", hostPrefix(address), "table", "\(table)"])
        report.changes.append("rule from \(hostPrefix(address)) removed")
    }

    /// The MSS TCP may advertise from a service address: what fits `pathMTU` once the inner IP and
    /// TCP headers and the LB's encapsulation (by the outer family; GUE adds UDP) are added.
    public static func advertisedMSS(inner: IPAddress.Family, outer: IPAddress.Family, gue: Bool, pathMTU: Int) -> Int {
        let headers = inner == .v4 ? 40 : 60
        let overhead = outer == .v4 ? (gue ? 28 : 20) : (gue ? 48 : 40)
        return pathMTU - headers - overhead
    }

    /// Table 4242 of `family` holds a copy of the main default route with `advmss` (nil: empty).
    /// Without a default route to copy, the table is left empty and a warning says so (the rule
    /// then falls through to the main table: the MSS is the interface's).
    /// - Returns: whether table 4242 of `family` now holds a route.
    @discardableResult
    public static func setMSSRoute(family: IPAddress.Family, advmss: Int?, report: inout Report) throws -> Bool {
        let flag = family == .v4 ? "-4" : "-6"
        let current = try tableRoutes(flag)
        guard let advmss else {
            if !current.isEmpty {
                try run(["ip", flag, "route", "flush", "table", "\(table)"])
                report.changes.append("table \(table) (\(family)) flushed")
            }
            return false
        }
        guard let route = try json(["ip", "-j", flag, "route", "show", "default"]).first.flatMap(DefaultRoute.init)
        else {
            report.warnings.append("no \(family) default route: MSS of replies from \(family) addresses left as is")
            return false
        }
        let wanted = DefaultRoute(gateway: route.gateway, device: route.device, onlink: route.onlink, advmss: advmss)
        if current.count == 1, let existing = DefaultRoute(current[0]), existing == wanted { return true }
        try run(["ip", flag, "route", "replace"] + wanted.arguments + ["table", "\(table)"])
        report.changes.append("table \(table) (\(family)): \(wanted.arguments.joined(separator: " "))")
        return true
    }

    /// The routes of table 4242; a table that never held one does not exist, which is empty too.
    private static func tableRoutes(_ flag: String) throws -> [[String: Any]] {
        do {
            return try json(["ip", "-j", flag, "route", "show", "table", "\(table)"])
        } catch let error as NetworkNamespace.CommandError where error.description.contains("table does not exist") {
            return []
        }
    }

    /// A default route as `ip -j route` shows it: what the MSS table copies.
    struct DefaultRoute: Equatable {
        var gateway: String?
        var device: String?
        var onlink: Bool
        var advmss: Int?

        init(gateway: String?, device: String?, onlink: Bool, advmss: Int?) {
            self.gateway = gateway
            self.device = device
            self.onlink = onlink
            self.advmss = advmss
        }

        init?(_ object: [String: Any]) {
            guard object["dst"] as? String == "default" else { return nil }
            gateway = object["gateway"] as? String
            device = object["dev"] as? String
            guard gateway != nil || device != nil else { return nil }
            onlink = (object["flags"] as? [String] ?? []).contains("onlink")
            advmss = (object["metrics"] as? [[String: Any]] ?? []).compactMap { $0["advmss"] as? Int }.first
        }

        var arguments: [String] {
            var words = ["default"]
            if let gateway { words += ["via", gateway] }
            if let device { words += ["dev", device] }
            if onlink { words.append("onlink") }
            if let advmss { words += ["advmss", "\(advmss)"] }
            return words
        }
    }

    // MARK: helpers

    public static func hostPrefix(_ a: IPAddress) -> String { a.family == .v4 ? "\(a)/32" : "\(a)/128" }
    static func familyFlag(_ a: IPAddress) -> String { a.family == .v4 ? "-4" : "-6" }

    @discardableResult
    static func run(_ argv: [String]) throws -> String { try NetworkNamespace.run(argv) }

    /// `ip -j …` output as JSON objects (an empty answer is no objects).
    static func json(_ argv: [String]) throws -> [[String: Any]] {
        let text = try run(argv)
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [] }
        guard let objects = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
            throw NetworkNamespace.CommandError(description: "\(argv.joined(separator: " ")): not a JSON array")
        }
        return objects
    }
}
