import Foundation
import SwitchyardDatapath

/// What `lab-http` prints: answers per backend (for `/`) and the bytes received.
public struct HTTPReport: Sendable, Codable, Equatable {
    public var perBackend: [String: Int]
    public var bytes: Int

    enum CodingKeys: String, CodingKey {
        case perBackend = "per_backend"
        case bytes
    }

    public init(perBackend: [String: Int], bytes: Int) {
        self.perBackend = perBackend
        self.bytes = bytes
    }
}

extension Lab {
    func counter(_ ns: String, _ interface: String, _ name: String) -> UInt64 {
        UInt64(
            ((try? inNS(ns, ["cat", "/sys/class/net/\(interface)/statistics/\(name)"])) ?? "0")
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    func http(_ host: String, count: Int, path: String = "/") throws -> HTTPReport {
        let out = try inNS(client, [executable, "lab-http", "--host", host, "--count", "\(count)", "--path", path])
        return try JSONDecoder().decode(HTTPReport.self, from: Data(out.utf8))
    }

    /// Pings `host` from the client namespace (`lab-ping`: raw ICMP sockets, no ping tool needed).
    public func ping(_ host: String, count: Int = 5) throws -> Pinger.Result {
        let out = try inNS(client, [executable, "lab-ping", host, "--count", "\(count)"])
        return try JSONDecoder().decode(Pinger.Result.self, from: Data(out.utf8))
    }

    /// The demo: traffic through both VIPs, proof of DSR, connections through an LB-node change.
    public func demo(connections: Int) throws -> String {
        var lines = [
            "", "Switchyard lab demo — lab \(id), mode \(options.mode.rawValue)",
            "  client ─ router (ECMP over lb1, lb2; lb3 stands by) ─ LB nodes (XDP) ─ backends be1..be3 (DSR)",
            "  routing: "
                + (options.routing == .static
                    ? "static (the lab writes the router's route)"
                    : "\(options.routing) (the agents announce their VIPs; lb3 is drained)"),
            "",
        ]
        lines.append("1. HTTP requests and pings to the VIPs (each HTTP answer names its backend)")
        for host in [Lab.vip4, Lab.vip6] {
            let result = try http(host, count: 60)
            let per = result.perBackend.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            lines.append(
                "   \(host.contains(":") ? "[\(host)]" : host):80  60 requests → \(per.joined(separator: ", "))")
        }
        for host in [Lab.vip4, Lab.vip6] {
            let result = try ping(host)
            let rtt = result.rttMicroseconds.sorted()
            lines.append(
                "   ping \(host): \(result.received)/\(result.sent) answered by the LB nodes' XDP program"
                    + (rtt.isEmpty ? "" : ", median round trip \(rtt[rtt.count / 2]) µs"))
        }

        lines.append("")
        lines.append("2. Direct server return: a 20 MB download from the IPv4 VIP")
        let lbs = Array(1...options.lbNodes)
        let clientBefore = counter(client, "eth0", "rx_bytes")
        let lbBefore = lbs.map { counter(lb($0), "eth0", "rx_bytes") + counter(lb($0), "eth0", "tx_bytes") }
        let bulk = try http(Lab.vip4, count: 1, path: "/bytes/20000000")
        let clientGot = counter(client, "eth0", "rx_bytes") - clientBefore
        let lbSaw = zip(lbs, lbBefore).map {
            counter(lb($0), "eth0", "rx_bytes") + counter(lb($0), "eth0", "tx_bytes") - $1
        }
        lines.append("   client received \(mb(clientGot)) (payload \(mb(UInt64(max(bulk.bytes, 0)))))")
        lines.append(
            "   LB nodes moved \(lbs.map { "lb\($0) \(mb(lbSaw[$0 - 1]))" }.joined(separator: ", ")) "
                + "(requests and ACKs only)"
        )
        let share = Double(lbSaw.reduce(0, +)) / Double(max(clientGot, 1))
        lines.append(
            "   → \(String(format: "%.1f", share * 100))% of the reply volume crossed an LB node: the "
                + "replies went straight from the backend to the client"
        )

        lines.append("")
        lines.append(
            "3. \(connections) long-lived connections (half IPv4, half IPv6), each talking every 100 ms, "
                + "while lb2 leaves the ECMP group"
        )
        let result = try run(.lbRemove, connections: connections)
        lines.append("   \(result.established) established, \(result.survived) survived, \(result.failed) failed")
        lines.append("   (flows lb2 carried now reach lb1, which has no entry for them; Maglev picks the same backend)")
        for f in result.failures { lines.append("   ! \(f)") }

        if options.routing != .static {
            lines.append("")
            lines.append("   The router now (\(options.routing)): its BGP sessions and its route for each VIP")
            lines += routerSessions().split(separator: "\n").map { "     " + $0 }
            for (vip, v6) in Self.announcedVIPs {
                let route = (try? sh(["ip", "-n", router, v6 ? "-6" : "-4", "route", "show", vip])) ?? "(no answer)"
                lines += route.split(separator: "\n").map { "     " + $0 }
            }
        }

        lines.append("")
        lines.append("4. What lb1's agent says (`switchyard status`)")
        let status = (try? inNS(lb(1), [executable, "status", "--socket", "\(dir)/lb1.sock"])) ?? "(no answer)"
        lines += status.split(separator: "\n", omittingEmptySubsequences: false).map { "   " + $0 }
        return lines.joined(separator: "\n")
    }

    /// The demo's last step: the same double change (lb3 joins while be4 is added) in each mode.
    public static func doubleChangeReport(_ results: [ScenarioResult]) -> [String] {
        var lines = [
            "",
            "5. Why stateful mode: the same double change in both modes — be4 is added and lb3 joins the "
                + "ECMP group at once,",
            "   so flows the router moves to lb3 find no entry there and Maglev now spreads over four backends",
            "   mode        established  survived  lost",
        ]
        for r in results {
            lines.append(
                "   " + r.mode.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + String(r.established).padding(toLength: 13, withPad: " ", startingAt: 0)
                    + String(r.survived).padding(toLength: 10, withPad: " ", startingAt: 0) + "\(r.failed)")
        }
        lines.append(
            "   (stateless: each LB node knows only its own flows; stateful: every node holds every flow, "
                + "shared through Redis)")
        return lines
    }

    private func mb(_ bytes: UInt64) -> String { String(format: "%.2f MB", Double(bytes) / 1e6) }
}
