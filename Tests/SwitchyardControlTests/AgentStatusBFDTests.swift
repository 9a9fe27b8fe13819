import Foundation
import SwitchyardControl
import Testing

/// The admin API's BGP peer with and without BFD: a status written by an agent that predates BFD
/// still decodes, and one with BFD survives the trip through JSON.
struct AgentStatusBFDTests {
    @Test func aPeerFromAnAgentWithoutBFDDecodes() throws {
        let old = """
            {"peer": "10.0.0.1", "asn": 65000, "state": "established", "uptimeSeconds": 12.5,
             "prefixesAnnounced": 2, "updatesSent": 3, "updatesReceived": 1}
            """
        let peer = try JSONDecoder().decode(AgentStatus.BGPPeer.self, from: Data(old.utf8))
        #expect(peer.bfd == nil)
        #expect(peer.isEstablished && peer.prefixesAnnounced == 2)
    }

    @Test func aPeerWithBFDRoundTrips() throws {
        let peer = AgentStatus.BGPPeer(
            peer: "10.0.0.1", asn: 65000, state: "established",
            bfd: AgentStatus.BFDSession(
                local: "10.0.0.11", state: "up", remoteState: "up", transmitIntervalMs: 300, detectionTimeMs: 900,
                packetsSent: 10, packetsReceived: 9, discarded: ["ttlBelow255": 1], sinceChangeSeconds: 3))
        let back = try JSONDecoder().decode(AgentStatus.BGPPeer.self, from: JSONEncoder().encode(peer))
        #expect(back == peer)
        #expect(back.bfd?.isUp == true && back.bfd?.discardedTotal == 1)
    }
}
