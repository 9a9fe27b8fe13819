import Logging
import SwitchyardBGP
import SwitchyardBGPSpeaker
import SwitchyardControl
import SwitchyardCore

/// The agent's side of the BGP speaker: `node.bgp` into session configurations, the control
/// layer's plain announcements into path attributes, the speaker's status into the admin API's.
/// Conversions only; what to announce is `AgentState`'s decision.
enum AgentBGP {
    /// One session configuration per peer. Validation has checked every value, so a peer the
    /// session still refuses is logged and left out rather than taking the agent down.
    static func peerConfigurations(_ bgp: BGPSettings, logger: Logger) -> [BGPPeerConfiguration] {
        bgp.peers.compactMap { peer in
            let families: [BGPAddressFamily] = peer.families.map { $0 == .ipv4 ? .ipv4Unicast : .ipv6Unicast }
            do {
                // A node that can serve should be back in ECMP within a second or two of its
                // router accepting it again: the first retry after 1 s, doubling to 60 s, instead
                // of RFC 4271's flat 120 s (a router that keeps refusing is not hammered).
                let session = try BGPSessionConfiguration(
                    localASN: bgp.asn, routerID: bgp.routerID, peerASN: peer.asn, holdTime: bgp.holdSeconds,
                    families: families, connectRetry: .seconds(1), maxConnectRetry: .seconds(60))
                let transport = BGPPeerTransport(
                    peerAddress: peer.address, peerPort: peer.port, sourceAddress: peer.sourceAddress,
                    md5Password: peer.password)
                return BGPPeerConfiguration(transport: transport, session: session)
            } catch {
                logger.error(
                    "BGP peer left out: its session settings are refused; fix node.bgp and restart",
                    metadata: ["peer": "\(peer.address)", "error": "\(error)"])
                return nil
            }
        }
    }

    /// Path attributes for the speaker: origin IGP (the VIP is this AS's own), the next hop and
    /// the communities the control layer chose.
    static func routes(_ routes: [IPPrefix: RouteAnnouncement]) -> [IPPrefix: BGPRouteAttributes] {
        routes.mapValues { route in
            let nextHop: BGPNextHop =
                switch route.nextHop {
                case .v4(let address): .v4(address)
                case .v6(let address): .v6(global: address, linkLocal: nil)
                }
            return BGPRouteAttributes(
                nextHop: nextHop, origin: .igp, communities: route.communities.map { BGPCommunity($0.value) },
                largeCommunities: route.largeCommunities.map {
                    BGPLargeCommunity($0.globalAdministrator, $0.localData1, $0.localData2)
                })
        }
    }

    /// `bfd`: the BFD session on the path to the peer, if it runs one.
    static func status(
        _ peer: BGPPeerStatus, asn: UInt32, bfd: AgentStatus.BFDSession? = nil
    ) -> AgentStatus.BGPPeer {
        AgentStatus.BGPPeer(
            peer: peer.peer, asn: asn, state: peer.state.rawValue,
            uptimeSeconds: peer.uptime.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 },
            lastError: peer.lastError?.description, lastNotificationSent: peer.lastNotificationSent.map(notification),
            lastNotificationReceived: peer.lastNotificationReceived.map(notification),
            prefixesAnnounced: peer.prefixesAnnounced, updatesSent: peer.updatesSent,
            updatesReceived: peer.updatesReceived, bfd: bfd)
    }

    private static func notification(_ record: BGPNotificationRecord) -> AgentStatus.Notification {
        AgentStatus.Notification(code: record.code, subcode: record.subcode, text: record.text)
    }
}
