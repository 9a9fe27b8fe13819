import SwitchyardABI
import SwitchyardCore

/// The XDP load-balancer program as a pure function: (frame, tables) → verdict + counter
/// changes. This is the specification; the BPF program (bpf/lb/lb.c) must agree with it byte
/// for byte, and the differential tests hold it to that.
///
///     parse → VIP? ─no─► pass
///       │ICMP echo request → echo reply from the VIP (tx)
///       │ICMP error → quoted flow → service → source ranges (the quoted client)
///       │    → flow table / ring (no insert) → encap
///       ▼
///     service → client in its source ranges (if any)? ─no─► drop source_range
///       ▼
///     flow table hit? ─yes─► backend                  (down backend: treated as a miss)
///       │no
///       ▼
///     Maglev ring → backend (must be up) → insert entry (not for TCP RST)
///       → fits the MTU after encap? ─no─► ICMP too big to the client (if DF / IPv6)
///       → encapsulate → tx
public enum Pipeline {
    static let tcpRST: UInt8 = 0x04

    /// `now` is the datapath's clocks for this packet: flow-table times and the insert budget.
    public static func process(
        _ frame: [UInt8], tables: inout DatapathTables,
        now: DatapathTime = DatapathTime()
    ) -> PipelineResult {
        var result = PipelineResult(verdict: .pass, counters: CounterDelta(), decision: nil)
        func drop(_ reason: DropReason) -> PipelineResult {
            result.verdict = .drop(reason)
            result.counters.drops[reason] = 1
            return result
        }

        let ip: ParsedIP
        switch Parse.ip(frame, vips: tables.vips) {
        case .pass: return result
        case .drop(let reason): return drop(reason)
        case .ip(let parsed): ip = parsed
        }

        if ip.proto == (ip.family == .v4 ? IPProtocolNumber.icmp : IPProtocolNumber.icmpv6) {
            return steerICMP(frame, ip, tables: &tables, now: now, result: result)
        }

        let sourcePort: UInt16
        let destinationPort: UInt16
        let tcpFlags: UInt8
        switch Parse.ports(frame, ip) {
        case .failure(let error): return drop(error.reason)
        case .success(let ports): (sourcePort, destinationPort, tcpFlags) = ports
        }
        guard
            let (serviceKey, service) = Lookup.service(
                tables, vip: ip.destination, port: destinationPort, proto: ip.proto)
        else {
            return drop(SY_DROP_NO_SERVICE)
        }
        guard SourceRange.admits(service, client: ip.source) else { return drop(.sourceRange) }

        let key = Conntrack.key(
            service, source: ip.source, destination: ip.destination, sourcePort: sourcePort,
            destinationPort: destinationPort, proto: ip.proto)
        let hash = key.hash
        result.decision = Decision(service: serviceKey.description, serviceID: service.id, flowKey: key, flowHash: hash)
        let mayInsert = !(ip.proto == IPProtocolNumber.tcp && tcpFlags & tcpRST != 0)
        let pick: Conntrack.Pick
        var effects = Conntrack.Effects()
        let picked = Conntrack.pick(
            &tables, service: service, key: key, hash: hash, mayInsert: mayInsert,
            tcpFlags: ip.proto == IPProtocolNumber.tcp ? tcpFlags : 0, now: now,
            effects: &effects)
        result.events = effects.events
        result.reports = effects.reports
        switch picked {
        case .failure(let error): return drop(error.reason)
        case .success(let chosen): pick = chosen
        }
        result.decision?.backend = pick.backend
        result.decision?.flow = pick.outcome
        result.decision?.staleEntryBackend = pick.staleBackend
        if pick.outcome == .inserted {
            result.counters.services[service.id, default: .init()].newFlows += 1
            result.counters.backends[pick.backend, default: .init()].newFlows += 1
        }
        let backend = tables.backends[pick.backend]!.address

        let overhead = Encap.overhead(outer: backend.family, gue: service.gue)
        if ip.ipLength + overhead > tables.node.mtu {
            let quote = ip.family == .v4 ? Int(SY_ICMP4_TOO_BIG_QUOTE) : Int(SY_ICMP6_TOO_BIG_QUOTE)
            guard ip.family == .v6 || ip.dontFragment, ip.ipLength >= quote else { return drop(SY_DROP_MTU_EXCEEDED) }
            result.verdict = .tx(ICMP.tooBig(frame, ip, mtu: tables.node.mtu - overhead))
            result.counters.services[service.id, default: .init()].tooBig += 1
            return result
        }
        return forward(
            frame, ip, backendIndex: pick.backend, backend: backend, service: service, hash: hash,
            tables: tables, result: result)
    }

    /// Echo requests to a VIP are answered; ICMP errors about a flow go to the flow's backend,
    /// and nothing is inserted for them.
    private static func steerICMP(
        _ frame: [UInt8], _ ip: ParsedIP, tables: inout DatapathTables,
        now: DatapathTime, result: PipelineResult
    ) -> PipelineResult {
        var result = result
        func drop(_ reason: DropReason) -> PipelineResult {
            result.verdict = .drop(reason)
            result.counters.drops[reason] = 1
            return result
        }
        if let reply = ICMP.echoReply(frame, ip) {
            result.verdict = .tx(reply)
            result.events[SY_EVENT_ICMP_ECHO_REPLIED] = 1
            return result
        }
        let quoted: ICMP.QuotedFlow
        switch ICMP.quotedFlow(frame, ip) {
        case .failure(let error): return drop(error.reason)
        case .success(let flow): quoted = flow
        }
        guard
            let (serviceKey, service) = Lookup.service(
                tables, vip: quoted.vip, port: quoted.vipPort, proto: quoted.proto)
        else {
            return drop(SY_DROP_NO_SERVICE)
        }
        // The flow's client is the quoted destination, not the sender (a router on the path, which
        // need not be in the ranges: path MTU discovery must work). A client outside the ranges
        // has no flow here, so an error about one concerns none.
        guard SourceRange.admits(service, client: quoted.client) else { return drop(.sourceRange) }
        let key = Conntrack.key(
            service, source: quoted.client, destination: quoted.vip, sourcePort: quoted.clientPort,
            destinationPort: quoted.vipPort, proto: quoted.proto)
        let hash = key.hash
        result.decision = Decision(service: serviceKey.description, serviceID: service.id, flowKey: key, flowHash: hash)
        let pick: Conntrack.Pick
        var effects = Conntrack.Effects()
        let picked = Conntrack.pick(
            &tables, service: service, key: key, hash: hash, mayInsert: false, tcpFlags: 0,
            now: now, effects: &effects)
        result.events = effects.events
        result.reports = effects.reports
        switch picked {
        case .failure(let error): return drop(error.reason)
        case .success(let chosen): pick = chosen
        }
        result.decision?.backend = pick.backend
        result.decision?.flow = pick.outcome
        result.decision?.staleEntryBackend = pick.staleBackend
        let backend = tables.backends[pick.backend]!.address
        // Never answer an ICMP error with another (RFC 1122 §3.2.2).
        guard ip.ipLength + Encap.overhead(outer: backend.family, gue: service.gue) <= tables.node.mtu else {
            return drop(SY_DROP_MTU_EXCEEDED)
        }
        return forward(
            frame, ip, backendIndex: pick.backend, backend: backend, service: service, hash: hash,
            tables: tables, result: result)
    }

    private static func forward(
        _ frame: [UInt8], _ ip: ParsedIP, backendIndex: UInt32, backend: IPAddress,
        service: DatapathTables.ServiceEntry, hash: UInt64, tables: DatapathTables,
        result: PipelineResult
    ) -> PipelineResult {
        var result = result
        switch Encap.build(frame, ip, backend: backend, service: service, hash: hash, node: tables.node) {
        case .failure(let error):
            result.verdict = .drop(error.reason)
            result.counters.drops[error.reason] = 1
        case .success(let output):
            result.verdict = .tx(output)
            let bytes = UInt64(frame.count)
            result.counters.services[service.id, default: .init()].packets += 1
            result.counters.services[service.id, default: .init()].bytes += bytes
            result.counters.backends[backendIndex, default: .init()].packets += 1
            result.counters.backends[backendIndex, default: .init()].bytes += bytes
        }
        return result
    }
}
