import DatapathModel
import SwitchyardABI
import SwitchyardCore

/// Model values ↔ ABI structs. Addresses are four network-order words, IPv4 in the first.
typealias Words4 = (UInt32, UInt32, UInt32, UInt32)

extension IPAddress {
    var abiWords: Words4 {
        switch self {
        case .v4(let a): (a.value.bigEndian, 0, 0, 0)
        case .v6(let a):
            (
                UInt32(truncatingIfNeeded: a.high >> 32).bigEndian, UInt32(truncatingIfNeeded: a.high).bigEndian,
                UInt32(truncatingIfNeeded: a.low >> 32).bigEndian, UInt32(truncatingIfNeeded: a.low).bigEndian
            )
        }
    }

    var abiFamily: UInt8 { family == .v4 ? UInt8(SY_FAMILY_V4) : UInt8(SY_FAMILY_V6) }

    init(abiWords w: Words4, family: UInt8) {
        if family == UInt8(SY_FAMILY_V4) {
            self = .v4(IPv4Address(UInt32(bigEndian: w.0)))
        } else {
            self = .v6(
                IPv6Address(
                    high: UInt64(UInt32(bigEndian: w.0)) << 32 | UInt64(UInt32(bigEndian: w.1)),
                    low: UInt64(UInt32(bigEndian: w.2)) << 32 | UInt64(UInt32(bigEndian: w.3))))
        }
    }
}

extension sy_vip_addr {
    init(_ address: IPAddress) {
        self.init(addr: address.abiWords, family: UInt32(address.abiFamily))
    }
}

extension sy_service_key {
    init(_ key: ServiceKey) {
        self.init(
            addr: key.vip.abiWords, port: key.port.bigEndian, proto: key.proto.rawValue, family: key.vip.abiFamily)
    }
}

extension sy_service {
    init(_ entry: DatapathTables.ServiceEntry) {
        self.init(
            id: entry.id, flags: entry.flags, ring_size: entry.ringSize, gue_port: entry.guePort.bigEndian, pad: 0)
    }
}

extension sy_source_range_key {
    init(_ entry: SourceRangeEntry) {
        self.init(
            prefixlen: SY_SOURCE_RANGE_ID_BITS + UInt32(entry.prefix.length), service: entry.service,
            addr: entry.prefix.address.abiWords)
    }
}

extension sy_backend {
    init(_ entry: DatapathTables.BackendEntry) {
        let state: sy_backend_state =
            switch entry.state {
            case .up: SY_BACKEND_UP
            case .draining: SY_BACKEND_DRAINING
            case .down: SY_BACKEND_DOWN
            }
        self.init(addr: entry.address.abiWords, family: entry.address.abiFamily, state: UInt8(state.rawValue), pad: 0)
    }
}

extension sy_flow_key {
    init(_ key: FlowKey) {
        self.init()
        src = key.source.abiWords
        dst = key.destination.abiWords
        sport = key.sourcePort.bigEndian
        dport = key.destinationPort.bigEndian
        proto = key.proto
        family = key.source.abiFamily
        pad = 0
    }

    public var model: FlowKey {
        FlowKey(
            source: IPAddress(abiWords: src, family: family), destination: IPAddress(abiWords: dst, family: family),
            sourcePort: UInt16(bigEndian: sport), destinationPort: UInt16(bigEndian: dport), proto: proto)
    }
}

extension sy_node {
    init(
        _ node: DatapathTables.Node, newFlowRate: UInt32, flowSetCount: UInt32, evictIdle: UInt32,
        syncRefresh: UInt32 = 0, testClock: Bool = false
    ) {
        self.init()
        ipv4_source = node.ipv4Source?.value.bigEndian ?? 0
        ipv6_source = node.ipv6Source.map { IPAddress.v6($0).abiWords } ?? (0, 0, 0, 0)
        if let source = node.sourceMAC, let nextHop = node.nextHopMAC {
            let s = source.bytes
            let n = nextHop.bytes
            src_mac = (s[0], s[1], s[2], s[3], s[4], s[5])
            nexthop_mac = (n[0], n[1], n[2], n[3], n[4], n[5])
            flags = UInt16(SY_NODE_F_NEXTHOP_MAC)
        }
        if testClock { flags |= UInt16(SY_NODE_F_TEST_CLOCK) }
        mtu = UInt16(clamping: node.mtu)
        new_flow_rate = newFlowRate
        flow_set_count = flowSetCount
        evict_idle = evictIdle
        sync_refresh = syncRefresh
    }
}

extension sy_flow_event {
    /// The report this ring-buffer record carries (nil for a kind this build does not know).
    public var report: FlowTableReport? {
        guard let kind = FlowTableReport.Kind(rawValue: kind) else { return nil }
        return FlowTableReport(key: key.model, backend: backend, service: service, kind: kind)
    }
}
