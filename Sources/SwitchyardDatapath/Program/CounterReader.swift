import DatapathModel
import SwitchyardABI

/// Reads the datapath's per-CPU counters, summed over CPUs, in the model's shape.
public struct CounterReader: Sendable {
    public let datapath: LBDatapath

    public init(datapath: LBDatapath) { self.datapath = datapath }

    /// Counters of the given services and backends, and every drop reason (zeros omitted). One
    /// batch read per map: the differential harness reads them twice per packet.
    public func read(services: some Sequence<UInt32>, backends: some Sequence<UInt32>) throws -> CounterDelta {
        var c = CounterDelta()
        let serviceValues = try datapath.serviceStats.lookupPerCPUArray(
            count: Int(services.max().map { min($0, SY_MAX_SERVICES - 1) + 1 } ?? 0), as: sy_service_counters.self)
        for id in services where Int(id) < serviceValues.count {
            let all = serviceValues[Int(id)]
            let s = CounterDelta.Service(
                packets: all.reduce(0) { $0 + $1.packets },
                bytes: all.reduce(0) { $0 + $1.bytes },
                newFlows: all.reduce(0) { $0 + $1.new_flows },
                tooBig: all.reduce(0) { $0 + $1.too_big })
            if s != CounterDelta.Service() { c.services[id] = s }
        }
        let backendValues = try datapath.backendStats.lookupPerCPUArray(
            count: Int(backends.max().map { min($0, SY_MAX_BACKENDS - 1) + 1 } ?? 0), as: sy_backend_counters.self)
        for id in backends where Int(id) < backendValues.count {
            let all = backendValues[Int(id)]
            let b = CounterDelta.Backend(
                packets: all.reduce(0) { $0 + $1.packets },
                bytes: all.reduce(0) { $0 + $1.bytes },
                newFlows: all.reduce(0) { $0 + $1.new_flows })
            if b != CounterDelta.Backend() { c.backends[id] = b }
        }
        let drops = try datapath.drops.lookupPerCPUArray(count: Int(SY_DROP__COUNT.rawValue), as: UInt64.self)
        for (reason, values) in drops.enumerated() {
            let n = values.reduce(0, +)
            if n > 0 { c.drops[DropReason(rawValue: UInt32(reason))] = n }
        }
        return c
    }

    /// Every event counter, summed over CPUs, zeros omitted.
    public func eventCounts() throws -> [DatapathEvent: UInt64] {
        var result: [DatapathEvent: UInt64] = [:]
        let events = try datapath.events.lookupPerCPUArray(count: Int(SY_EVENT__COUNT.rawValue), as: UInt64.self)
        for (event, values) in events.enumerated() {
            let n = values.reduce(0, +)
            if n > 0 { result[DatapathEvent(rawValue: UInt32(event))] = n }
        }
        return result
    }

    public func events() throws -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for event in 0..<SY_EVENT__COUNT.rawValue {
            result[String(cString: sy_event_name(event))] =
                (try datapath.events.lookupPerCPU(event, as: UInt64.self) ?? []).reduce(0, +)
        }
        return result
    }
}

extension CounterDelta {
    /// after − before, dropping zero entries.
    public static func difference(_ after: CounterDelta, _ before: CounterDelta) -> CounterDelta {
        var d = CounterDelta()
        for (id, a) in after.services {
            let b = before.services[id] ?? .init()
            let s = Service(
                packets: a.packets - b.packets, bytes: a.bytes - b.bytes, newFlows: a.newFlows - b.newFlows,
                tooBig: a.tooBig - b.tooBig)
            if s != Service() { d.services[id] = s }
        }
        for (id, a) in after.backends {
            let b = before.backends[id] ?? .init()
            let x = Backend(packets: a.packets - b.packets, bytes: a.bytes - b.bytes, newFlows: a.newFlows - b.newFlows)
            if x != Backend() { d.backends[id] = x }
        }
        for (reason, n) in after.drops {
            let delta = n - (before.drops[reason] ?? 0)
            if delta > 0 { d.drops[reason] = delta }
        }
        return d
    }
}
