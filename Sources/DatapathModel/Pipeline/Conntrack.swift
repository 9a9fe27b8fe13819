import SwitchyardABI
import SwitchyardCore

/// Stage 3 (bpf/conntrack.h): the flow table first, the Maglev ring on a miss, then the insert
/// (set-busy and rate rules) and the reports of stateful services. The table's own rules live in
/// `FlowTableModel`; this is the order the datapath applies them in.
enum Conntrack {
    struct Pick {
        var backend: UInt32
        var outcome: Decision.FlowOutcome
        /// A found entry that could not be used (backend down or unused).
        var staleBackend: UInt32?
    }

    /// What the flow table did besides choosing: events counted and ring-buffer reports.
    struct Effects {
        var events: [DatapathEvent: UInt64] = [:]
        var reports: [FlowTableReport] = []

        mutating func count(_ event: DatapathEvent) { events[event, default: 0] += 1 }
    }

    /// The flow key of a packet from the client's side. `sourceIP` services zero the source
    /// port so all of one client's connections share an entry.
    static func key(
        _ service: DatapathTables.ServiceEntry, source: IPAddress, destination: IPAddress,
        sourcePort: UInt16, destinationPort: UInt16, proto: UInt8
    ) -> FlowKey {
        FlowKey(
            source: source, destination: destination, sourcePort: service.sourceIPKey ? 0 : sourcePort,
            destinationPort: destinationPort, proto: proto)
    }

    /// Picks the backend (`pick_backend`). A live entry of this service wins, even for a draining
    /// backend; an entry whose backend is down or unused is a miss. On a miss the ring decides;
    /// `mayInsert` writes the entry. `tcpFlags` is 0 for anything but TCP.
    static func pick(
        _ tables: inout DatapathTables, service: DatapathTables.ServiceEntry, key: FlowKey,
        hash: UInt64, mayInsert: Bool, tcpFlags: UInt8, now: DatapathTime,
        effects: inout Effects
    ) -> Result<Pick, DropReasonError> {
        var stale: UInt32?
        let found = tables.flows.find(key, hash: hash)
        if found?.torn == true { effects.count(SY_EVENT_FLOW_TORN) }
        if let found, !found.torn, let entry = tables.flows.way(at: found.place), entry.service == service.id {
            if let backend = tables.backends[entry.backend], backend.state != .down {
                if let report = tables.flows.hit(
                    at: found.place, now: now.jiffies32, tcpFlags: tcpFlags,
                    stateful: service.stateful)
                {
                    effects.reports.append(report)
                }
                return .success(Pick(backend: entry.backend, outcome: .hit, staleBackend: nil))
            }
            stale = entry.backend
        }
        // A stateful flow with no way in the table: the store's entry may sit in the overflow.
        if found == nil, service.stateful, let entry = tables.flows.overflow[key], entry.service == service.id,
            let backend = tables.backends[entry.backend], backend.state != .down
        {
            // Carried here: refreshed and ended like an entry in the table.
            if let report = tables.flows.overflowHit(key, now: now.jiffies32, tcpFlags: tcpFlags) {
                effects.reports.append(report)
            }
            return .success(Pick(backend: entry.backend, outcome: .hit, staleBackend: nil))
        }
        guard let ring = tables.rings[service.id] else { return .failure(.init(SY_DROP_NO_BACKEND)) }
        let slot = Int(SwitchyardHash.ringSlot(hash, ringSize: service.ringSize))
        guard slot < ring.count, ring[slot] != SY_BACKEND_NONE else { return .failure(.init(SY_DROP_NO_BACKEND)) }
        let chosen = ring[slot]
        guard tables.backends[chosen]?.state == .up else { return .failure(.init(SY_DROP_BACKEND_DOWN)) }
        let ringOnly = Pick(backend: chosen, outcome: .ringOnly, staleBackend: stale)
        guard mayInsert else { return .success(ringOnly) }
        switch tables.flows.insert(
            key, hash: hash, existing: found?.place, backend: chosen, service: service.id,
            stateful: service.stateful, tcpFlags: tcpFlags, now: now)
        {
        case .setBusy(let report):
            effects.count(SY_EVENT_FLOW_SET_BUSY)
            if let report { effects.reports.append(report) }
            return .success(ringOnly)
        case .rateLimited(let report):
            effects.count(SY_EVENT_INSERT_RATE_LIMITED)
            if let report { effects.reports.append(report) }
            return .success(ringOnly)
        case .inserted(let report):
            if let report { effects.reports.append(report) }
            return .success(Pick(backend: chosen, outcome: .inserted, staleBackend: stale))
        }
    }
}
