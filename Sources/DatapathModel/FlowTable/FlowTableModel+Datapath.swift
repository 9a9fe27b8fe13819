import SwitchyardABI
import SwitchyardCore

/// The packet path through the flow table, line for line as bpf/conntrack.h has it: `find_way`,
/// the hit (`last_seen` refresh, `stateful_hit`), `victim_way`, `insert_allowed` and the insert.
extension FlowTableModel {
    static let tcpFIN: UInt8 = 0x01, tcpSYN: UInt8 = 0x02, tcpRST: UInt8 = 0x04, tcpACK: UInt8 = 0x10

    /// A TCP packet that opens a connection: SYN without ACK (or RST).
    static func isSYN(_ flags: UInt8) -> Bool { flags & (tcpSYN | tcpACK | tcpRST) == tcpSYN }

    /// `find_way`: the way holding `key`, or nil. A matching way whose check fails was torn by
    /// concurrent writers: a miss, and counted (`torn`).
    public func find(_ key: FlowKey, hash: UInt64) -> (way: Int?, torn: Bool) {
        set(layout.setIndex(hash)).find(key, tag: FlowTableLayout.tag(hash))
    }

    /// The occupied way `w` of `key`'s set.
    public func way(_ w: Int, hash: UInt64) -> FlowWay? {
        let ways = set(layout.setIndex(hash)).ways
        return ways.indices.contains(w) ? ways[w] : nil
    }

    /// `victim_way`: an empty way, else the way idle longest if idle at least `evictIdle`, else
    /// nil (a set of busy flows is never evicted: flood safety). A last-seen in the future
    /// (protected remote entries) counts as idle 0. `evictIdle` is compared as the kernel's s32.
    public static func victim(in set: FlowSet, now: UInt32, evictIdle: UInt32) -> Int? {
        var victim: Int?
        var oldestIdle: Int32 = 0
        for (w, way) in set.ways.enumerated() {
            guard let way else { return w }
            let idle = max(0, Int32(bitPattern: now &- way.lastSeen))
            if victim == nil || idle > oldestIdle {
                victim = w
                oldestIdle = idle
            }
        }
        return oldestIdle >= Int32(bitPattern: evictIdle) ? victim : nil
    }

    /// A usable entry was found at way `w`: refresh its last-seen (at most once per
    /// `SY_FLOW_REFRESH_JIFFIES`) and, for a stateful service, move its state (`stateful_hit`).
    /// Returns the report the packet causes, if any.
    public mutating func hit(
        way w: Int, hash: UInt64, now: UInt32, tcpFlags: UInt8,
        stateful: Bool
    ) -> FlowTableReport? {
        let index = layout.setIndex(hash)
        guard var way = set(index).ways[w] else { return nil }
        defer { updateWay(way, at: w, set: index) }
        if now &- way.lastSeen > UInt32(SY_FLOW_REFRESH_JIFFIES) { way.lastSeen = now }
        guard stateful else { return nil }
        func report(_ kind: FlowTableReport.Kind) -> FlowTableReport {
            FlowTableReport(key: way.key, backend: way.backend, service: way.service, kind: kind)
        }
        // A SYN-made entry is shared once the client completes the handshake.
        if way.flags.contains(.embryonic) {
            guard tcpFlags & Self.tcpACK != 0, tcpFlags & (Self.tcpSYN | Self.tcpRST) == 0 else { return nil }
            way.flags.remove(.embryonic)
            way.synced = now
            return report(.new)
        }
        // An ended entry stays quiet; a SYN starts it over.
        if way.flags.contains(.closing) {
            if Self.isSYN(tcpFlags) { way.flags = way.flags.subtracting(.closing).union(.embryonic) }
            return nil
        }
        if tcpFlags & (Self.tcpFIN | Self.tcpRST) != 0 {
            way.flags.insert(.closing)
            return report(tcpFlags & Self.tcpRST != 0 ? .rst : .fin)
        }
        if policy.syncRefresh != 0, now &- way.synced >= policy.syncRefresh {
            way.synced = now
            return report(.refresh)
        }
        return nil
    }

    /// What an insert attempt came to.
    public enum InsertOutcome: Sendable, Equatable {
        /// Written; a stateful entry not made by a SYN is reported at once.
        case inserted(FlowTableReport?)
        /// Every way is busy: forwarded by the ring without an entry (`SY_EVENT_FLOW_SET_BUSY`).
        case setBusy
        /// Past the insert budget (`SY_EVENT_INSERT_RATE_LIMITED`).
        case rateLimited
    }

    /// The ring chose `backend` for `key`: write the entry into `existing` (the key's own way,
    /// unusable for its backend or service) or a victim way, if the budget allows.
    public mutating func insert(
        _ key: FlowKey, hash: UInt64, existing: Int?, backend: UInt32, service: UInt32,
        stateful: Bool, tcpFlags: UInt8, now: DatapathTime
    ) -> InsertOutcome {
        let index = layout.setIndex(hash)
        let now32 = now.jiffies32
        guard let w = existing ?? Self.victim(in: set(index), now: now32, evictIdle: policy.evictIdle) else {
            return .setBusy
        }
        if policy.newFlowRate != 0, !insertBudget.allow(rate: policy.newFlowRate, now: now.coarseNs) {
            return .rateLimited
        }
        let syn = Self.isSYN(tcpFlags)
        updateWay(
            FlowWay(
                key: key, hash: hash, backend: backend, service: service,
                flags: stateful && syn ? .embryonic : [], lastSeen: now32, synced: now32),
            at: w, set: index)
        guard stateful, !syn else { return .inserted(nil) }
        return .inserted(FlowTableReport(key: key, backend: backend, service: service, kind: .new))
    }
}
