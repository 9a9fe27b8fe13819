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
            if let bfd = peer.bfd { lines.append(Self.line(bfd)) }
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

    /// One line per BFD session: state, timers, packets, and why it last changed when that was
    /// not a plain Up.
    static func line(_ bfd: AgentStatus.BFDSession) -> String {
        var line = "    bfd from \(bfd.local): \(bfd.state)"
        if let since = bfd.sinceChangeSeconds { line += " for \(seconds(since.rounded()))" }
        line += " (remote \(bfd.remoteState))"
        if bfd.localDiagnostic != "no diagnostic" { line += ", last diagnostic: \(bfd.localDiagnostic)" }
        line +=
            ", tx \(milliseconds(bfd.transmitIntervalMs)), detection \(milliseconds(bfd.detectionTimeMs))"
            + ", packets \(bfd.packetsSent) sent / \(bfd.packetsReceived) received"
        if bfd.discardedTotal > 0 {
            let reasons = bfd.discarded.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            line += ", \(bfd.discardedTotal) discarded (\(reasons.joined(separator: ", ")))"
        }
        if bfd.sendErrors > 0 { line += ", \(bfd.sendErrors) send errors" }
        return line
    }

    static func milliseconds(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int(value)) ms" : "\(value) ms"
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int(value)) s" : "\(value) s"
    }
}
