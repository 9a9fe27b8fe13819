import Logging
import SwitchyardBFD
import SwitchyardBFDSession
import SwitchyardBGPSpeaker
import SwitchyardControl
import SwitchyardCore

/// The agent's side of BFD (issue 12): which sessions `node.bgp` asks for, what their state
/// changes tell the BGP speaker (RFC 5882 §4.3), and their status for the admin API. BFD runs in
/// the agent process rather than in a separate daemon so that a hung agent goes silent and the
/// routers drop its routes within a detection time, not a hold time.
enum AgentBFD {
    /// One session per peer with `bfd`, from `BFDSettings.localAddress`. Peers at one address (two
    /// BGP ports) share a session: BFD watches the path, and `BGPSpeaker.bfdStateChanged` reaches
    /// every peer at that address. Validation refuses a peer without a local address; one that
    /// still arrives here is logged and left out rather than taking the agent down.
    static func peerConfigurations(
        _ bgp: BGPSettings, node: NodeSettings, logger: Logger
    ) -> [BFDPeerConfiguration] {
        var seen: Set<IPAddress> = []
        return bgp.peers.compactMap { peer -> BFDPeerConfiguration? in
            guard let bfd = peer.bfd, seen.insert(peer.address).inserted else { return nil }
            guard let local = BFDSettings.localAddress(of: peer, node: node) else {
                logger.error(
                    "BFD left out: no local address; set the peer's sourceAddress or the node's source and restart",
                    metadata: ["peer": "\(peer.address)"])
                return nil
            }
            guard let multiplier = UInt8(exactly: bfd.multiplier), multiplier > 0 else {
                logger.error(
                    "BFD left out for a peer: multiplier outside 1...255 (RFC 5880 §4.1); fix node.bgp and restart",
                    metadata: ["peer": "\(peer.address)", "multiplier": "\(bfd.multiplier)"])
                return nil
            }
            return BFDPeerConfiguration(
                localAddress: local, peerAddress: peer.address, intervalMs: bfd.intervalMs, multiplier: multiplier)
        }
    }

    /// What a state change tells BGP: false when an Up session lost its peer, true when the
    /// session is Up, nil for anything else. AdminDown on either side says BFD is being switched
    /// off, not that the path failed, so it takes no BGP session down (RFC 5882 §3.2).
    static func pathSignal(_ change: BFDStateChange) -> Bool? {
        if change.isPathLoss { return false }
        return change.to == .up ? true : nil
    }

    /// Starts one session per configuration, each reporting to `speaker`. A session that cannot
    /// start (its address is not on this host, the port is taken) is logged and skipped: BGP to
    /// that peer then relies on its hold timer alone, as it would without `bfd`.
    @discardableResult
    static func start(
        _ peers: [BFDPeerConfiguration], on service: BFDService, reportingTo speaker: BGPSpeaker, logger: Logger,
        pathChanged: @escaping @Sendable (IPAddress, Bool) -> Void = { _, _ in }
    ) -> [BFDSession] {
        peers.compactMap { peer in
            let address = peer.peerAddress
            do {
                return try service.start(peer) { change in
                    if let up = pathSignal(change) {
                        speaker.bfdStateChanged(peer: address, up: up)
                        pathChanged(address, up)
                    }
                }
            } catch {
                logger.error(
                    "BFD session not started: BGP falls back on its hold timer; configure bfd_local here, then restart",
                    metadata: [
                        "bfd_peer": "\(peer.peerAddress)", "bfd_local": "\(peer.localAddress)", "error": "\(error)",
                    ])
                return nil
            }
        }
    }

    /// The session as the admin API shows it.
    static func status(_ session: BFDSessionStatus) -> AgentStatus.BFDSession {
        AgentStatus.BFDSession(
            local: "\(session.peer.localAddress)", state: stateName(session.state),
            remoteState: stateName(session.remoteState), localDiagnostic: session.localDiagnostic.description,
            remoteDiagnostic: session.remoteDiagnostic.description,
            transmitIntervalMs: milliseconds(session.transmitInterval),
            detectionTimeMs: milliseconds(session.detectionTime), packetsSent: session.packetsSent,
            packetsReceived: session.packetsReceived, sendErrors: session.sendErrors,
            discarded: Dictionary(uniqueKeysWithValues: session.discarded.map { ($0.key.rawValue, $0.value) }),
            sinceChangeSeconds: session.sinceLastChange.map { milliseconds($0) / 1000 })
    }

    /// RFC 5880 §4.1 state names in the admin API's lower camel case.
    static func stateName(_ state: BFDState) -> String {
        switch state {
        case .adminDown: "adminDown"
        case .down: "down"
        case .`init`: "init"
        case .up: "up"
        }
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
