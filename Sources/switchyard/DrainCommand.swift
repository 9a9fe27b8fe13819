import ArgumentParser
import Foundation
import SwitchyardConfig
import SwitchyardControl
import SwitchyardCore

struct DrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Take a running agent's node out of the routers' ECMP without stopping it.",
        discussion:
            "The agent re-announces its VIPs with GRACEFUL_SHUTDOWN (RFC 8326) so the routers move new traffic "
            + "to the other nodes, waits node.bgp.drainSeconds, then withdraws them. The datapath stays attached "
            + "and keeps forwarding whatever still arrives. --cancel puts the node back in service.")

    @Option(help: "The agent's admin socket.") var socket: String = NodeSettings.defaultAdminSocket
    @Option(help: "Take the socket path from this config file.") var config: String?
    @Flag(help: "Stop draining: announce the VIPs normally again.") var cancel = false
    @Flag(help: "Print the JSON as received.") var json = false

    func run() throws {
        var path = socket
        if let config, case .success(let c) = ConfigLoader.load(path: config) { path = c.node.adminSocket }
        let data = try AdminClient.request(cancel ? "undrain" : "drain", socket: path)
        if json {
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let status = try JSONDecoder().decode(AgentStatus.self, from: data)
        guard let bgp = status.bgp else {
            throw CommandFailure("node \(status.node) speaks no BGP (no node.bgp in its config): nothing to drain")
        }
        for line in bgp.lines { print(line) }
    }
}
