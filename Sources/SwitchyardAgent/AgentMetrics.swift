import Foundation
import Prometheus
import SwitchyardControl

/// Datapath counters, flow sharing and BGP as Prometheus metrics. BPF and speaker counters are
/// absolute; Prometheus counters only grow, so each scrape adds what changed since the last.
final class AgentMetrics: @unchecked Sendable {
    private let registry = PrometheusCollectorRegistry()
    /// One exported series: a metric name and its label pairs.
    private struct Series: Hashable {
        var name: String
        var labels: [String]
    }

    private var last: [Series: UInt64] = [:]
    private let lock = NSLock()

    /// A full metric name as swift-prometheus wants it: `_total` is the unit of counters.
    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        name.hasSuffix("_total")
            ? MetricNameDescriptor(metricName: String(name.dropLast(6)), unitName: "total", helpText: help)
            : MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private func gauge(_ name: String, _ labels: [(String, String)], _ value: Double, help: String) {
        registry.makeGauge(descriptor: Self.descriptor(name, help), labels: labels).set(to: value)
    }

    private func add(_ name: String, _ labels: [(String, String)], _ value: UInt64, help: String) {
        let id = Series(name: name, labels: labels.flatMap { [$0.0, $0.1] })
        let delta = value >= (last[id] ?? 0) ? value - (last[id] ?? 0) : value
        last[id] = value
        registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels).increment(by: Int64(delta))
    }

    func render(_ s: AgentStatus) throws -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        for service in s.services {
            let l = [("service", service.name), ("vip", service.key)]
            add("switchyard_service_packets_total", l, service.packets, help: "Packets forwarded to a backend")
            add("switchyard_service_new_flows_total", l, service.newFlows, help: "Flow-table entries created")
            add("switchyard_service_too_big_total", l, service.tooBig, help: "ICMP too-big replies sent")
            for b in service.backends {
                let bl = [("service", service.name), ("backend", "\(b.address):\(b.port)")]
                add("switchyard_backend_packets_total", bl, b.packets, help: "Packets forwarded to the backend")
                add("switchyard_backend_bytes_total", bl, b.bytes, help: "Bytes forwarded to the backend")
                add("switchyard_backend_new_flows_total", bl, b.newFlows, help: "New flows placed on the backend")
                registry.makeGauge(
                    descriptor: Self.descriptor(
                        "switchyard_backend_up", "1 when the backend takes traffic (effective state up)"), labels: bl
                )
                .set(to: b.effective == "up" ? 1.0 : 0.0)
                registry.makeGauge(
                    descriptor: Self.descriptor(
                        "switchyard_backend_healthy", "1 when the health check passes (1 if unchecked)"), labels: bl
                )
                .set(to: b.health == "down" ? 0.0 : 1.0)
            }
        }
        for (reason, n) in s.drops {
            add("switchyard_drops_total", [("reason", reason)], n, help: "Packets dropped, by reason")
        }
        for (event, n) in s.events {
            add("switchyard_datapath_events_total", [("event", event)], n, help: "Datapath events that are not drops")
        }
        if let f = s.flowSharing {
            let counts: [(String, Int, String)] = [
                ("published", f.published, "New entries written to the flow store"),
                ("refreshed", f.refreshed, "Live entries refreshed in the flow store"),
                ("ended", f.ended, "Entries ended by FIN or RST"),
                ("purged", f.purged, "Entries removed with their backend"),
                ("installed", f.installed, "Entries installed from other nodes or the store"),
                (
                    "extended", f.extended,
                    "Entries from other nodes already present, whose protection a refresh extended"
                ),
                ("unresolved", f.unresolved, "Shared entries naming an unknown service or backend"),
                (
                    "own_kept", f.ownPlaced + f.ownOverflow,
                    "Own new flows the datapath found no way for, written by the agent (a way or the overflow)"
                ),
                ("dropped", f.dropped, "Store writes dropped because the wait queue was full"),
                ("retried", f.retried, "Store writes queued again: redirected (MOVED/ASK) or asked to retry"),
                (
                    "rewritten", f.rewritten,
                    "Own live entries re-written to the store after it was lost (restart, failover, resharding)"
                ),
            ]
            for (name, value, help) in counts { add("switchyard_flows_\(name)_total", [], UInt64(value), help: help) }
            for (kind, n) in f.storeErrors {
                add(
                    "switchyard_flow_store_errors_total", [("kind", kind)], UInt64(n),
                    help: "Error replies from the flow store by kind, retried and refused")
            }
            for (kind, n) in f.refusedByKind {
                add(
                    "switchyard_flows_refused_total", [("kind", kind)], UInt64(n),
                    help: "Store writes the store refused, by error kind")
            }
            add(
                "switchyard_flow_store_failures_total", [], UInt64(f.storeFailures),
                help: "Failed attempts to reach the flow store")
            add(
                "switchyard_flow_store_recoveries_total", [], UInt64(f.recoveries),
                help: "Flow store subscriptions restored after a loss, each re-writing this node's own entries")
            registry.makeGauge(
                descriptor: Self.descriptor("switchyard_flow_store_up", "1 while the flow store is reachable"),
                labels: []
            ).set(to: f.storeReachable ? 1.0 : 0.0)
            registry.makeGauge(
                descriptor: Self.descriptor("switchyard_flow_store_pending", "Store writes waiting for the store"),
                labels: []
            ).set(to: Double(f.pending))
        }
        add(
            "switchyard_programming_failures_total", [], UInt64(s.programmingFailures),
            help: "Datapath programming passes that failed (retried or rolled back)")
        add(
            "switchyard_allocation_save_failures_total", [], UInt64(s.allocationSaveFailures),
            help: "Failed saves of the backend id allocation (retried)")
        registry.makeGauge(
            descriptor: Self.descriptor(
                "switchyard_retired_backends", "Removed backends whose flows are not yet purged"), labels: []
        )
        .set(to: Double(s.retiredBackends))
        add(
            "switchyard_ring_rebuilds_total", [], UInt64(s.ringRebuilds), help: "Maglev rings swapped into the datapath"
        )
        if let bgp = s.bgp { renderBGP(bgp) }
        add("switchyard_config_reloads_total", [("result", "ok")], UInt64(s.reloadsOK), help: "Config reloads")
        add("switchyard_config_reloads_total", [("result", "failed")], UInt64(s.reloadsFailed), help: "Config reloads")
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// Sessions by peer; each VIP's announcement as a 0/1 and as a state set (one series per
    /// state, 1 on the current one) so a state that ended reads 0 instead of lingering at 1.
    private func renderBGP(_ bgp: AgentStatus.BGPStatus) {
        gauge("switchyard_bgp_draining", [], bgp.draining ? 1 : 0, help: "1 while the node drains")
        for peer in bgp.peers {
            let l = [("peer", peer.peer)]
            gauge("switchyard_bgp_peer_up", l, peer.isEstablished ? 1 : 0, help: "1 while the session is Established")
            gauge(
                "switchyard_bgp_peer_uptime_seconds", l, peer.uptimeSeconds ?? 0,
                help: "Seconds the session has been Established (0 when down)")
            gauge(
                "switchyard_bgp_prefixes_announced", l, Double(peer.prefixesAnnounced),
                help: "Prefixes the peer was told about in this session")
            add(
                "switchyard_bgp_updates_sent_total", l, UInt64(peer.updatesSent),
                help: "BGP UPDATE messages sent, End-of-RIB included")
            add(
                "switchyard_bgp_updates_received_total", l, UInt64(peer.updatesReceived),
                help: "BGP UPDATE messages received")
            if let bfd = peer.bfd { renderBFD(bfd, peer: peer.peer) }
        }
        let states = ["normal", "gshut"] + AnnouncementWithheldReason.allCases.map(\.rawValue)
        for vip in bgp.vips {
            gauge(
                "switchyard_vip_announced", [("vip", vip.vip)], vip.isAnnounced ? 1 : 0,
                help: "1 while this node announces the VIP over BGP")
            let current = vip.isAnnounced ? vip.state : (vip.reason ?? "")
            for state in states {
                gauge(
                    "switchyard_vip_announcement_state", [("vip", vip.vip), ("state", state)], state == current ? 1 : 0,
                    help: "1 on the VIP's announcement state: normal, gshut, or the reason it is withheld")
            }
        }
    }

    /// The BFD session on the path to a BGP peer, labelled like the peer's BGP series so the two
    /// join. Its state also as a state set, so a state that ended reads 0.
    private func renderBFD(_ bfd: AgentStatus.BFDSession, peer: String) {
        let l = [("peer", peer)]
        gauge("switchyard_bfd_session_up", l, bfd.isUp ? 1 : 0, help: "1 while the BFD session to the peer is Up")
        for state in ["adminDown", "down", "init", "up"] {
            gauge(
                "switchyard_bfd_session_state", l + [("state", state)], bfd.state == state ? 1 : 0,
                help: "1 on the BFD session's state (RFC 5880): adminDown, down, init, up")
        }
        gauge(
            "switchyard_bfd_detection_time_seconds", l, bfd.detectionTimeMs / 1000,
            help: "How long the peer may stay silent before the session goes Down, as negotiated")
        add(
            "switchyard_bfd_packets_sent_total", l, UInt64(max(0, bfd.packetsSent)),
            help: "BFD control packets sent")
        add(
            "switchyard_bfd_packets_received_total", l, UInt64(max(0, bfd.packetsReceived)),
            help: "BFD control packets received and believed")
        add(
            "switchyard_bfd_send_errors_total", l, UInt64(max(0, bfd.sendErrors)),
            help: "BFD control packets the kernel refused to send")
        for (reason, n) in bfd.discarded.sorted(by: { $0.key < $1.key }) {
            add(
                "switchyard_bfd_discards_total", l + [("reason", reason)], UInt64(max(0, n)),
                help: "Received BFD packets discarded, by reason")
        }
    }
}
