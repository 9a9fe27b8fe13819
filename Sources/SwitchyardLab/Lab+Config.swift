import Foundation
import SwitchyardDatapath

/// Each LB node's agent config, as the lab writes it: the node on the fabric, the web, bench and
/// web6 services with the backends the scenario has put in, the store in stateful mode and
/// `node.bgp` with BGP routing. Agents reload the file when it changes. With `--kubernetes` the
/// file holds the node settings alone (`services: []`): Services come from the API server.
extension Lab {
    func config(_ i: Int) -> String {
        func backends(_ v6: Bool) -> String {
            backendStates.sorted { $0.key < $1.key }.map { j, state in
                "      - {address: \"\(v6 ? "fd77:2::\(20 + j)" : "10.77.2.\(20 + j)")\", state: \(state.rawValue)}"
            }.joined(separator: "\n")
        }
        return node(i) + (options.kubernetes ? "services: []\n" : services(backends))
    }

    private func node(_ i: Int) -> String {
        """
        # Lab \(id), LB node \(i). Written by `switchyard lab`; edits are picked up on save.
        node:
          name: lb\(i)
          ipv4Source: 10.77.2.\(10 + i)
          ipv6Source: fd77:2::\(10 + i)
          interface: eth0
          mtu: 1600
          flowTableCapacity: \(options.flowTableCapacity)
          newFlowRatePerCPU: \(Self.newFlowRatePerCPU)
          pinDirectory: \(dir)/bpffs/lb\(i)
          stateDirectory: \(dir)/state/lb\(i)
          adminSocket: \(dir)/lb\(i).sock
          metricsAddress: 127.0.0.1:9400
        \(bgpLines(i))\(storeLine)

        """
    }

    private func services(_ backends: (Bool) -> String) -> String {
        """
        services:
          - name: web
            vip: \(Self.vip4)
            ports: [{port: \(Self.port)}]
            mode: \(options.mode.rawValue)
            healthCheck: {type: tcp, intervalSeconds: 0.5, timeoutSeconds: 0.3, rise: 2, fall: 2}
            backends:
        \(backends(false))
          - name: bench
            vip: \(Self.benchVIP)
            ports: [{port: \(Self.port)}, {port: 5201}]
            mode: \(options.mode.rawValue)
            backends:
              - {address: 10.77.2.21}
          - name: web6
            vip: "\(Self.vip6)"
            ports: [{port: \(Self.port)}]
            mode: \(options.mode.rawValue)
            healthCheck: {type: tcp, intervalSeconds: 0.5, timeoutSeconds: 0.3, rise: 2, fall: 2}
            backends:
        \(backends(true))

        """
    }

    /// `node.bgp` under `node:` when the router learns routes by BGP.
    func bgpLines(_ i: Int) -> String {
        options.routing == .static ? "" : bgpFabric.agentYAML(node: i) + "\n"
    }

    /// Short lifetimes so a scenario sees refreshes: entries are refreshed every 2 s of use.
    var storeLine: String {
        guard options.mode == .stateful else { return "" }
        return "  flowStore: {\((storeFields + [Self.storeTiming]).joined(separator: ", "))}"
    }

    static let storeTiming = "refreshSeconds: 2, newFlowSeconds: 30, closingSeconds: 10"

    /// `node.flowStore` for the store the lab runs (`Lab+Store`): where it is and, with
    /// `--store-tls`, whom to trust, what to present and the name the servers' certificate carries.
    var storeFields: [String] {
        let host = Self.storeHost
        func seeds(_ ports: [Int]) -> String { "seeds: [\(ports.map { "\"\(host):\($0)\"" }.joined(separator: ", "))]" }
        var fields: [String]
        switch options.store {
        case .embedded: return ["type: embedded"]
        case .redis: fields = ["address: \"\(host):\(Self.redisPort)\""]
        case .redisCluster: fields = ["type: redis-cluster", seeds(Self.clusterPorts)]
        case .redisSentinel:
            fields = ["type: redis-sentinel", seeds(Self.sentinelPorts), "masterName: \(Self.sentinelMasterName)"]
        }
        if let tls = storeTLS {
            fields.append(
                "tls: {caFile: \"\(tls.caFile)\", certificateFile: \"\(tls.clientCertificate)\", "
                    + "keyFile: \"\(tls.clientKey)\", serverName: \(LabStoreTLS.serverName)}")
        }
        return fields
    }

    public static let newFlowRatePerCPU = 20000

    func writeConfig(_ i: Int) throws {
        let path = "\(dir)/lb\(i).yaml"
        try config(i).write(toFile: path + ".tmp", atomically: false, encoding: .utf8)
        guard rename(path + ".tmp", path) == 0 else {
            throw NetworkNamespace.CommandError(description: "cannot write \(path): errno \(errno)")
        }
    }
}
