import SwitchyardControl

extension AgentStatus.BGPStatus {
    /// How `switchyard status` and `switchyard drain` show the node's BGP: one line per session,
    /// one per VIP.
    var lines: [String] {
        var lines = [
            "bgp: AS \(asn), router id \(routerID)"
                + (draining ? ", DRAINING (GRACEFUL_SHUTDOWN for \(Self.seconds(drainSeconds)), then withdrawn)" : "")
        ]
        for peer in peers {
            var line = "  peer \(peer.peer) AS \(peer.asn): \(peer.state)"
            if let up = peer.uptimeSeconds { line += " for \(Self.seconds(up.rounded()))" }
            line +=
                ", \(peer.prefixesAnnounced) prefixes announced, UPDATEs \(peer.updatesSent) sent / "
                + "\(peer.updatesReceived) received"
            lines.append(line)
            if let error = peer.lastError { lines.append("    last error: \(error)") }
            if let sent = peer.lastNotificationSent { lines.append("    last NOTIFICATION sent: \(sent)") }
            if let received = peer.lastNotificationReceived {
                lines.append("    last NOTIFICATION received: \(received)")
            }
        }
        for vip in vips {
            switch vip.state {
            case "normal": lines.append("  vip \(vip.vip): announced")
            case "gshut": lines.append("  vip \(vip.vip): announced with GRACEFUL_SHUTDOWN")
            default: lines.append("  vip \(vip.vip): withheld (\(vip.reason ?? "unknown"))")
            }
        }
        return lines
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int(value)) s" : "\(value) s"
    }
}
