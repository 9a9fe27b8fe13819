import SwitchyardABI
import SwitchyardCore

/// Stage 3 (bpf/lb/conntrack.h): the flow table first, the Maglev ring on a miss.
enum Conntrack {
    struct Pick {
        var backend: UInt32
        var outcome: Decision.FlowOutcome
        /// A found entry that could not be used (backend down or unused).
        var staleBackend: UInt32?
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

    /// Picks the backend. A live entry wins, even for a draining backend; an entry whose backend
    /// is down or unused is a miss. On a miss the ring decides; `mayInsert` writes the entry.
    static func pick(
        _ tables: inout DatapathTables, service: DatapathTables.ServiceEntry, key: FlowKey,
        hash: UInt64, mayInsert: Bool
    ) -> Result<Pick, DropReasonError> {
        var stale: UInt32?
        if let entry = tables.flows[key], entry.service == service.id {
            if let backend = tables.backends[entry.backend], backend.state != .down {
                return .success(Pick(backend: entry.backend, outcome: .hit, staleBackend: nil))
            }
            stale = entry.backend
        }
        guard let ring = tables.rings[service.id] else { return .failure(.init(SY_DROP_NO_BACKEND)) }
        let slot = Int(SwitchyardHash.ringSlot(hash, ringSize: service.ringSize))
        guard slot < ring.count, ring[slot] != SY_BACKEND_NONE else { return .failure(.init(SY_DROP_NO_BACKEND)) }
        let chosen = ring[slot]
        guard tables.backends[chosen]?.state == .up else { return .failure(.init(SY_DROP_BACKEND_DOWN)) }
        guard mayInsert else { return .success(Pick(backend: chosen, outcome: .ringOnly, staleBackend: stale)) }
        tables.flows[key] = DatapathTables.FlowEntry(backend: chosen, service: service.id)
        return .success(Pick(backend: chosen, outcome: .inserted, staleBackend: stale))
    }
}
