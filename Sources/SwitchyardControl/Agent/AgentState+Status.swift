import DatapathModel
import SwitchyardCore

/// Facts about the running process that the state machine does not own.
public struct AgentRuntime: Sendable, Equatable {
    public var xdpMode: String?
    public var reusedPinnedMaps: Bool
    /// Where the config comes from (a file path today).
    public var configSource: String

    public init(xdpMode: String?, reusedPinnedMaps: Bool, configSource: String) {
        self.xdpMode = xdpMode
        self.reusedPinnedMaps = reusedPinnedMaps
        self.configSource = configSource
    }
}

extension AgentState {
    /// The ids whose counters status shows.
    public var countedIDs: (services: [UInt32], backends: [UInt32]) {
        (
            config.services.compactMap { allocation.serviceID($0.key) },
            config.services.flatMap(\.backendKeys).compactMap { allocation.backendIndex($0) }
        )
    }

    /// What `switchyard status` shows: the config and health as decided here, the datapath's
    /// counters as read by the executor, the flow store's traffic, the BGP sessions as the
    /// speaker reports them.
    public func status(
        counters: CounterDelta, events: [String: UInt64], runtime: AgentRuntime,
        flowSync: FlowSyncStateMachine.Counts?, bgpPeers: [AgentStatus.BGPPeer] = []
    ) -> AgentStatus {
        var sharing = self.sharing
        if let sync = flowSync { sharing?.merge(sync) }
        let services = config.services.map { service in
            let id = allocation.serviceID(service.key) ?? 0
            let c = counters.services[id] ?? .init()
            return AgentStatus.ServiceStatus(
                name: service.name, key: service.key.description, id: id, mode: service.mode.rawValue,
                flowKey: service.flowKey.rawValue, encap: service.encap.rawValue, packets: c.packets,
                newFlows: c.newFlows, tooBig: c.tooBig,
                backends: service.backends.map { backend in
                    let key = BackendKey(service: service.key, backend: backend.identity)
                    let index = allocation.backendIndex(key) ?? 0
                    let b = counters.backends[index] ?? .init()
                    let h = health[key]?.health
                    return AgentStatus.BackendStatus(
                        address: "\(backend.address)", port: backend.port, index: index, weight: backend.weight,
                        configured: backend.state.rawValue,
                        health: service.healthCheck == nil ? nil : (h ?? .up).rawValue,
                        effective: DesiredState.effectiveState(backend, health: h).rawValue,
                        packets: b.packets, bytes: b.bytes, newFlows: b.newFlows)
                })
        }
        var status = AgentStatus(
            node: config.node.name, interface: config.node.interface, xdpMode: runtime.xdpMode,
            reusedPinnedMaps: runtime.reusedPinnedMaps, configFile: runtime.configSource,
            reloadsOK: counts.reloadsOK, reloadsFailed: counts.reloadsFailed, ringRebuilds: counts.ringRebuilds,
            flowSharing: sharing, services: services,
            drops: Dictionary(uniqueKeysWithValues: counters.drops.map { ($0.key.name, $0.value) }), events: events)
        status.programmingFailures = counts.programmingFailures
        status.allocationSaveFailures = counts.allocationSaveFailures
        status.retiredBackends = allocation.retired.count
        if let bgp = config.node.bgp {
            status.bgp = AgentStatus.BGPStatus(
                asn: bgp.asn, routerID: "\(bgp.routerID)", draining: draining, drainSeconds: bgp.drainSeconds,
                peers: bgpPeers, vips: AgentStatus.VIPAnnouncement.all(announcementDecision))
        }
        return status
    }
}
