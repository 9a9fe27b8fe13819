import SwitchyardABI
import SwitchyardCore

/// The model of the datapath's maps: what the BPF program reads, as Swift values. The agent
/// computes these from a config; the model pipeline and the kernel program both run on them.
public struct DatapathTables: Sendable, Equatable {
    public struct Node: Sendable, Hashable {
        public var ipv4Source: IPv4Address?
        public var ipv6Source: IPv6Address?
        /// Largest outer IP packet the egress link carries.
        public var mtu: Int
        /// When both are set, output frames carry them; otherwise the kernel asks the FIB and the
        /// model swaps the input frame's MACs (the kernel's fallback).
        public var sourceMAC: MACAddress?
        public var nextHopMAC: MACAddress?

        public init(
            ipv4Source: IPv4Address? = nil, ipv6Source: IPv6Address? = nil, mtu: Int = 1500,
            sourceMAC: MACAddress? = nil, nextHopMAC: MACAddress? = nil
        ) {
            self.ipv4Source = ipv4Source
            self.ipv6Source = ipv6Source
            self.mtu = mtu
            self.sourceMAC = sourceMAC
            self.nextHopMAC = nextHopMAC
        }
    }

    public struct ServiceEntry: Sendable, Hashable {
        public var id: UInt32
        public var stateful: Bool
        public var sourceIPKey: Bool
        public var gue: Bool
        public var guePort: UInt16
        public var ringSize: UInt32
        /// Client prefixes the service admits, as configured; empty admits every client.
        public var sourceRanges: [IPPrefix] = []

        public var flags: UInt32 {
            (stateful ? SY_SVC_F_STATEFUL : 0) | (sourceIPKey ? SY_SVC_F_SOURCE_IP : 0) | (gue ? SY_SVC_F_GUE : 0)
                | (sourceRanges.isEmpty ? 0 : SY_SVC_F_SOURCE_RANGES)
        }
    }

    public struct BackendEntry: Sendable, Hashable {
        public var address: IPAddress
        public var state: BackendState
        public init(address: IPAddress, state: BackendState) {
            self.address = address
            self.state = state
        }
    }

    public struct FlowEntry: Sendable, Hashable {
        public var backend: UInt32
        public var service: UInt32
        public init(backend: UInt32, service: UInt32) {
            self.backend = backend
            self.service = service
        }
    }

    public var node: Node
    /// Destination addresses that are ours: anything else passes untouched.
    public var vips: Set<IPAddress> = []
    public var services: [ServiceKey: ServiceEntry] = [:]
    /// Service id → backend index per slot (`SY_BACKEND_NONE` where the ring is empty).
    public var rings: [UInt32: [UInt32]] = [:]
    /// Backend index → address and state; a missing index is `SY_BACKEND_UNUSED`.
    public var backends: [UInt32: BackendEntry] = [:]
    /// The flow table with its settings; `flows[key]` reads an entry as the datapath finds it.
    public var flows = FlowTableModel()

    /// Names for people: service id → name, backend index → "service address:port".
    public var serviceNames: [UInt32: String] = [:]
    public var backendNames: [UInt32: String] = [:]

    public init(node: Node) { self.node = node }

    /// The tables a config asks for, with ids assigned in file order (tests, trace). The agent
    /// passes a stable allocation and health-adjusted states instead.
    public init(config: SwitchyardConfig) {
        var services: [ServiceKey: UInt32] = [:]
        var backends: [BackendKey: UInt32] = [:]
        for (id, service) in config.services.enumerated() {
            services[service.key] = UInt32(id)
            for key in service.backendKeys where backends[key] == nil {
                backends[key] = UInt32(backends.count)
            }
        }
        self.init(
            config: config, serviceID: { services[$0] ?? SY_MAX_SERVICES },
            backendIndex: { backends[$0] ?? SY_BACKEND_NONE }, state: { _, backend in backend.state })
    }

    /// The tables for `config` with given ids and each backend's effective state (its configured
    /// state, or down when its health check says so). Rings hold the backends that are up with
    /// weight above zero.
    public init(
        config: SwitchyardConfig, serviceID: (ServiceKey) -> UInt32,
        backendIndex: (BackendKey) -> UInt32,
        state: (Service, Backend) -> BackendState
    ) {
        let n = config.node
        self.init(
            node: Node(
                ipv4Source: n.ipv4Source, ipv6Source: n.ipv6Source, mtu: n.mtu,
                sourceMAC: n.sourceMAC, nextHopMAC: n.nextHopMAC))
        for service in config.services {
            let id = serviceID(service.key)
            vips.insert(service.key.vip)
            services[service.key] = ServiceEntry(
                id: id, stateful: service.mode == .stateful, sourceIPKey: service.flowKey == .sourceIP,
                gue: service.encap == .gue, guePort: service.guePort, ringSize: UInt32(n.maglevTableSize),
                sourceRanges: service.sourceRanges)
            serviceNames[id] = service.name
            var effective = service
            for (i, backend) in service.backends.enumerated() {
                let index = backendIndex(BackendKey(service: service.key, backend: backend.identity))
                effective.backends[i].state = state(service, backend)
                backends[index] = BackendEntry(address: backend.address, state: effective.backends[i].state)
                backendNames[index] = "\(service.name) \(backend.identity)"
            }
            let table = MaglevTable(members: effective.ringMembers, size: n.maglevTableSize)
            rings[id] = table.slots.map {
                $0 == MaglevTable.empty
                    ? SY_BACKEND_NONE
                    : backendIndex(BackendKey(service: service.key, backend: table.members[Int($0)].identity))
            }
        }
    }

    public func serviceID(named name: String) -> UInt32? {
        serviceNames.first { $0.value == name }?.key
    }
}
