import SwitchyardABI
import SwitchyardCore

/// The packet path through the flow table, line for line as bpf/conntrack.h has it: `find_way`,
/// the hit (`last_seen` refresh, `stateful_use`), `victim_way`, `insert_allowed` and the insert.
extension FlowTableModel {
    static let tcpFIN: UInt8 = 0x01, tcpSYN: UInt8 = 0x02, tcpRST: UInt8 = 0x04, tcpACK: UInt8 = 0x10

    /// A TCP packet that opens a connection: SYN without ACK (or RST).
    static func isSYN(_ flags: UInt8) -> Bool { flags & (tcpSYN | tcpACK | tcpRST) == tcpSYN }

    /// `find_way` over the key's two candidate sets: the way holding `key`, or nil. A matching way
    /// whose check fails was torn by concurrent writers: a miss, counted (`torn`), whose way the
    /// re-pick rewrites.
    public func find(_ key: FlowKey, hash: UInt64) -> (place: FlowPlace, torn: Bool)? {
        candidateSets(hash).find(key, tag: FlowTableLayout.tag(hash))
    }

    /// A usable entry was found at `place`: refresh its last-seen (at most once per
    /// `SY_FLOW_REFRESH_JIFFIES`) and, for a stateful service, move its state (`stateful_use`).
    /// Returns the report the packet causes, if any.
    public mutating func hit(
        at place: FlowPlace, now: UInt32, tcpFlags: UInt8,
        stateful: Bool
    ) -> FlowTableReport? {
        guard var way = way(at: place) else { return nil }
        defer { updateWay(way, at: place) }
        if now &- way.lastSeen > UInt32(SY_FLOW_REFRESH_JIFFIES) { way.lastSeen = now }
        guard stateful else { return nil }
        return statefulUse(
            flags: &way.flags, synced: &way.synced, key: way.key, backend: way.backend, service: way.service,
            now: now, tcpFlags: tcpFlags)
    }

    /// A stateful flow carried from the overflow (`stateful_use` on the overflow entry): reported
    /// as from a way. Returns the report the packet causes, if any.
    public mutating func overflowHit(_ key: FlowKey, now: UInt32, tcpFlags: UInt8) -> FlowTableReport? {
        guard var entry = overflow[key] else { return nil }
        defer { overflow[key] = entry }
        return statefulUse(
            flags: &entry.flags, synced: &entry.synced, key: key, backend: entry.backend, service: entry.service,
            now: now, tcpFlags: tcpFlags)
    }

    /// `stateful_use`: a stateful entry was used. A SYN-made entry is shared once the client
    /// completes the handshake; FIN and RST end it; a SYN on an ended entry starts over; at most
    /// once per `syncRefresh` a used entry is reported alive.
    func statefulUse(
        flags: inout FlowFlags, synced: inout UInt32, key: FlowKey, backend: UInt32, service: UInt32,
        now: UInt32, tcpFlags: UInt8
    ) -> FlowTableReport? {
        func report(_ kind: FlowTableReport.Kind) -> FlowTableReport {
            FlowTableReport(key: key, backend: backend, service: service, kind: kind)
        }
        if flags.contains(.embryonic) {
            guard tcpFlags & Self.tcpACK != 0, tcpFlags & (Self.tcpSYN | Self.tcpRST) == 0 else { return nil }
            flags.remove(.embryonic)
            synced = now
            return report(.new)
        }
        if flags.contains(.closing) {
            if Self.isSYN(tcpFlags) { flags = flags.subtracting(.closing).union(.embryonic) }
            return nil
        }
        if tcpFlags & (Self.tcpFIN | Self.tcpRST) != 0 {
            flags.insert(.closing)
            return report(tcpFlags & Self.tcpRST != 0 ? .rst : .fin)
        }
        if policy.syncRefresh != 0, now &- synced >= policy.syncRefresh {
            synced = now
            return report(.refresh)
        }
        return nil
    }

    /// What an insert attempt came to.
    public enum InsertOutcome: Sendable, Equatable {
        /// Written; a stateful entry not made by a SYN is reported at once.
        case inserted(FlowTableReport?)
        /// Every way of both candidate sets is busy: forwarded by the ring without an entry
        /// (`SY_EVENT_FLOW_SET_BUSY`). A stateful flow past its SYN is reported all the same, so
        /// the store (and through it every node) keeps it on its backend.
        case setBusy(FlowTableReport?)
        /// Past the insert budget (`SY_EVENT_INSERT_RATE_LIMITED`). A stateful flow past its SYN
        /// is reported all the same (a SYN flood spends the budget; an established connection
        /// must not go unshared through it).
        case rateLimited(FlowTableReport?)
    }

    /// The ring chose `backend` for `key`: write the entry into `existing` (the key's own way,
    /// unusable for its backend or service, or torn) or a victim way, if the budget allows.
    public mutating func insert(
        _ key: FlowKey, hash: UInt64, existing: FlowPlace?, backend: UInt32, service: UInt32,
        stateful: Bool, tcpFlags: UInt8, now: DatapathTime
    ) -> InsertOutcome {
        let now32 = now.jiffies32
        let syn = Self.isSYN(tcpFlags)
        let report = FlowTableReport(key: key, backend: backend, service: service, kind: .new)
        guard
            let place = existing
                ?? candidateSets(hash).victim(
                    tag: FlowTableLayout.tag(hash), now: now32, evictIdle: policy.evictIdle)
        else {
            return .setBusy(stateful && !syn ? report : nil)
        }
        if policy.newFlowRate != 0, !insertBudget.allow(rate: policy.newFlowRate, now: now.coarseNs) {
            return .rateLimited(stateful && !syn ? report : nil)
        }
        updateWay(
            FlowWay(
                key: key, hash: hash, backend: backend, service: service,
                flags: stateful && syn ? .embryonic : [], lastSeen: now32, synced: now32),
            at: place)
        return .inserted(stateful && !syn ? report : nil)
    }
}
