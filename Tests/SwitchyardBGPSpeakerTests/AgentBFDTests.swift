import Foundation
import Logging
import SwitchyardBFD
import SwitchyardControl
import SwitchyardCore
import Testing

@testable import SwitchyardAgent
// The status's memberwise initializer is internal: a test builds one without a session.
@testable import SwitchyardBFDSession

/// `AgentBFD`'s conversions without sockets: which sessions `node.bgp` asks for and from which
/// address, what a state change tells BGP, and how a session reaches the status and the metrics.
struct AgentBFDTests {
    static let logger = Logger(label: "agent-bfd-tests")

    static func address(_ text: String) throws -> IPAddress { try #require(IPAddress(text)) }

    @Test func sessionsComeFromPeersWithBFDAndTheRightSourceAddress() throws {
        let node = NodeSettings(
            name: "lb1", ipv4Source: IPv4Address(10, 0, 0, 11), ipv6Source: IPv6Address("fd00::11"))
        let bgp = BGPSettings(
            asn: 65001, routerID: IPv4Address(10, 0, 0, 11),
            peers: [
                // The peer's own source address wins over the node's.
                BGPPeerSettings(
                    address: try Self.address("10.0.0.1"), asn: 65000, sourceAddress: try Self.address("10.0.0.12"),
                    families: [.ipv4], bfd: BFDSettings(intervalMs: 100, multiplier: 5)),
                // No BFD: no session.
                BGPPeerSettings(address: try Self.address("10.0.0.2"), asn: 65000, families: [.ipv4]),
                // The node's source of the peer's family.
                BGPPeerSettings(
                    address: try Self.address("fd00::1"), asn: 65000, families: [.ipv6], bfd: BFDSettings()),
                // A second BGP port on a router that already has a session: the path is the same.
                BGPPeerSettings(
                    address: try Self.address("10.0.0.1"), asn: 65000, port: 1179, families: [.ipv4],
                    bfd: BFDSettings()),
            ])
        let sessions = AgentBFD.peerConfigurations(bgp, node: node, logger: Self.logger)
        #expect(
            sessions == [
                BFDPeerConfiguration(
                    localAddress: try Self.address("10.0.0.12"), peerAddress: try Self.address("10.0.0.1"),
                    intervalMs: 100, multiplier: 5),
                BFDPeerConfiguration(
                    localAddress: try Self.address("fd00::11"), peerAddress: try Self.address("fd00::1"),
                    intervalMs: 300, multiplier: 3),
            ])
    }

    @Test func aPeerWithoutAnyLocalAddressIsLeftOut() throws {
        let node = NodeSettings(name: "lb1", ipv4Source: IPv4Address(10, 0, 0, 11))
        let bgp = BGPSettings(
            asn: 65001, routerID: IPv4Address(10, 0, 0, 11),
            peers: [
                BGPPeerSettings(
                    address: try Self.address("fd00::1"), asn: 65000, families: [.ipv6], bfd: BFDSettings())
            ])
        #expect(AgentBFD.peerConfigurations(bgp, node: node, logger: Self.logger).isEmpty)
    }

    /// Only the loss of an Up session takes BGP down; AdminDown on either side is BFD being
    /// switched off (RFC 5882 §3.2); Up lets BGP connect again.
    @Test(arguments: [
        (BFDStateChange(from: .up, to: .down, diagnostic: .controlDetectionTimeExpired), false as Bool?),
        (BFDStateChange(from: .up, to: .down, diagnostic: .neighborSignaledSessionDown, peerState: .down), false),
        (BFDStateChange(from: .up, to: .down, diagnostic: .neighborSignaledSessionDown, peerState: .adminDown), nil),
        (BFDStateChange(from: .up, to: .adminDown, diagnostic: .administrativelyDown, peerState: .up), nil),
        (BFDStateChange(from: .`init`, to: .down, diagnostic: .controlDetectionTimeExpired), nil),
        (BFDStateChange(from: .down, to: .`init`, diagnostic: .none), nil),
        (BFDStateChange(from: .`init`, to: .up, diagnostic: .none, peerState: .up), true),
        (BFDStateChange(from: .down, to: .up, diagnostic: .none, peerState: .`init`), true),
    ])
    func whatAChangeTellsBGP(_ change: BFDStateChange, _ signal: Bool?) {
        #expect(AgentBFD.pathSignal(change) == signal, "\(change)")
    }

    static func sessionStatus() throws -> BFDSessionStatus {
        BFDSessionStatus(
            peer: BFDPeerConfiguration(
                localAddress: try address("10.0.0.11"), peerAddress: try address("10.0.0.1"), intervalMs: 300,
                multiplier: 3),
            state: .down, remoteState: .up, localDiagnostic: .controlDetectionTimeExpired, remoteDiagnostic: .none,
            localDiscriminator: 7, remoteDiscriminator: 9, transmitInterval: .milliseconds(1000),
            detectionTime: .milliseconds(2700), packetsSent: 42, packetsReceived: 40, sendErrors: 1,
            discarded: [.ttlBelow255: 2, .badVersion: 1], sinceLastChange: .milliseconds(1500))
    }

    @Test func aSessionReachesTheStatusAsPlainValues() throws {
        let status = AgentBFD.status(try Self.sessionStatus())
        #expect(
            status
                == AgentStatus.BFDSession(
                    local: "10.0.0.11", state: "down", remoteState: "up",
                    localDiagnostic: "control detection time expired", remoteDiagnostic: "no diagnostic",
                    transmitIntervalMs: 1000, detectionTimeMs: 2700, packetsSent: 42, packetsReceived: 40,
                    sendErrors: 1, discarded: ["ttlBelow255": 2, "badVersion": 1], sinceChangeSeconds: 1.5))
        #expect(!status.isUp && status.discardedTotal == 3)
    }

    /// The session's series carry the BGP peer's label; counters are the session's own counts.
    @Test func aSessionReachesTheMetrics() throws {
        var status = AgentStatus(
            node: "lb1", interface: nil, xdpMode: nil, reusedPinnedMaps: false, configFile: "t.yaml", reloadsOK: 0,
            reloadsFailed: 0, ringRebuilds: 0, flowSharing: nil, services: [], drops: [:], events: [:])
        var up = AgentBFD.status(try Self.sessionStatus())
        up.state = "up"
        status.bgp = AgentStatus.BGPStatus(
            asn: 65001, routerID: "10.0.0.11", draining: false, drainSeconds: 15,
            peers: [
                AgentStatus.BGPPeer(peer: "10.0.0.1", asn: 65000, state: "established", bfd: up),
                AgentStatus.BGPPeer(peer: "10.0.0.2", asn: 65000, state: "established"),
            ], vips: [])
        let text = String(decoding: try AgentMetrics().render(status), as: UTF8.self)
        let lines = Set(text.split(separator: "\n").map(String.init))
        for expected in [
            #"switchyard_bfd_session_up{peer="10.0.0.1"} 1.0"#,
            #"switchyard_bfd_session_state{peer="10.0.0.1",state="up"} 1.0"#,
            #"switchyard_bfd_session_state{peer="10.0.0.1",state="down"} 0.0"#,
            #"switchyard_bfd_detection_time_seconds{peer="10.0.0.1"} 2.7"#,
            #"switchyard_bfd_packets_sent_total{peer="10.0.0.1"} 42"#,
            #"switchyard_bfd_packets_received_total{peer="10.0.0.1"} 40"#,
            #"switchyard_bfd_send_errors_total{peer="10.0.0.1"} 1"#,
            #"switchyard_bfd_discards_total{peer="10.0.0.1",reason="ttlBelow255"} 2"#,
        ] {
            #expect(lines.contains(expected), "missing \(expected)")
        }
        #expect(!text.contains(#"switchyard_bfd_session_up{peer="10.0.0.2"}"#), "a peer without BFD has no series")
    }
}
