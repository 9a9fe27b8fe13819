import DatapathModel
import Foundation
import SwitchyardABI
import SwitchyardConfig
import SwitchyardCore
import Yams

/// One case of the pipeline corpus: tables (a config plus setup), a packet, what must happen.
///
///     description: IPv4 SYN misses, Maglev picks, the entry is inserted, IPIP
///     config: base                      # configs/base.yaml beside the cases
///     setup:
///       backends: {"web 10.1.0.11:80": down}    # state changes after the rings are built
///       flows: [{key: "tcp 10.0.1.2:40000 > 10.200.0.10:80", backend: "web 10.1.0.11:80"}]
///       mtu: 1400
///       macs: swap                      # no node MACs: output swaps the input's
///       prior: ["tcp 10.0.1.2:40000 > 10.200.0.40:80 S"]   # run first, results ignored
///     packet: "tcp 10.0.1.2:40000 > 10.200.0.10:80 S"
///     expect:
///       verdict: tx | pass | drop
///       reason: fragment                # drop reason name
///       backend: "web 10.1.0.11:80"
///       flow: hit | inserted | ring-only
///       outer: {proto: 4, guePort: 6080}
///       icmp: {type: 3, code: 4, mtu: 1480}
///       echo: reply                     # the input, an echo request, answered
///       counters: {"service web": {packets: 1, newFlows: 1}, "drop fragment": 1}
public struct PipelineFixture: Sendable {
    public struct Flow: Sendable {
        public var key: String
        public var backend: String
    }

    public struct Expectation: Sendable {
        public var verdict: String
        public var reason: String?
        public var backend: String?
        public var flow: String?
        public var outerProto: UInt8?
        public var guePort: UInt16?
        public var icmp: (type: UInt8, code: UInt8, mtu: Int)?
        /// The output is the echo reply to the input.
        public var echoReply = false
        /// "service NAME" → packets/newFlows/tooBig, "backend NAME" → packets/newFlows,
        /// "drop REASON" → count. Bytes are implied: packets × frame length.
        public var counters: [String: [String: UInt64]]
    }

    public var name: String
    public var description: String
    public var config: SwitchyardConfig
    public var backendStates: [String: BackendState] = [:]
    public var flows: [Flow] = []
    public var mtu: Int?
    public var swapMACs = false
    public var prior: [String] = []
    public var packet: String
    public var expect: Expectation

    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The names (without `.yaml`) of every case in `directory` (not `configs/`), sorted. Throws
    /// when there are none, so a suite driven by the corpus fails instead of passing over zero cases.
    public static func caseNames(directory: URL) throws -> [String] {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw LoadError(
                description: "\(directory.path): cannot list the pipeline corpus (\(error)); "
                    + "restore Tests/Fixtures/pipeline")
        }
        let names = files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
        guard !names.isEmpty else {
            throw LoadError(description: "\(directory.path): no *.yaml cases; restore Tests/Fixtures/pipeline")
        }
        return names
    }

    /// Every case in `directory` (see `caseNames`), sorted by name.
    public static func loadAll(directory: URL) throws -> [PipelineFixture] {
        try caseNames(directory: directory).map { try load(directory.appendingPathComponent("\($0).yaml")) }
    }

    public static func load(_ url: URL) throws -> PipelineFixture {
        let name = url.deletingPathExtension().lastPathComponent
        func fail(_ message: String) -> LoadError { LoadError(description: "\(url.path): \(message)") }
        let text = try String(contentsOf: url, encoding: .utf8)
        guard let doc = try Yams.load(yaml: text) as? [String: Any] else { throw fail("not a mapping") }
        guard let description = doc["description"] as? String, let packet = doc["packet"] as? String,
            let configName = doc["config"] as? String, let expect = doc["expect"] as? [String: Any],
            let verdict = expect["verdict"] as? String
        else {
            throw fail("needs description, config, packet and expect.verdict")
        }
        let configPath = url.deletingLastPathComponent().appendingPathComponent("configs/\(configName).yaml").path
        let config: SwitchyardConfig
        switch ConfigLoader.load(path: configPath) {
        case .success(let c): config = c
        case .failure(let e): throw fail("config: \(e)")
        }
        var icmp: (UInt8, UInt8, Int)?
        if let i = expect["icmp"] as? [String: Int] {
            icmp = (UInt8(i["type"] ?? 0), UInt8(i["code"] ?? 0), i["mtu"] ?? 0)
        }
        var counters: [String: [String: UInt64]] = [:]
        for (key, value) in expect["counters"] as? [String: Any] ?? [:] {
            if let n = value as? Int {
                counters[key] = ["count": UInt64(n)]
            } else if let m = value as? [String: Int] {
                counters[key] = m.mapValues(UInt64.init)
            } else {
                throw fail("expect.counters.\(key): expected a number or a mapping")
            }
        }
        let outer = expect["outer"] as? [String: Int]
        var fixture = PipelineFixture(
            name: name, description: description, config: config, packet: packet,
            expect: Expectation(
                verdict: verdict, reason: expect["reason"] as? String, backend: expect["backend"] as? String,
                flow: expect["flow"] as? String, outerProto: (outer?["proto"]).map(UInt8.init),
                guePort: (outer?["guePort"]).map(UInt16.init), icmp: icmp, counters: counters))
        switch expect["echo"] as? String {
        case nil: break
        case "reply": fixture.expect.echoReply = true
        case let other?: throw fail("expect.echo: \(other), expected reply")
        }
        if let setup = doc["setup"] as? [String: Any] {
            for (backend, state) in setup["backends"] as? [String: String] ?? [:] {
                guard let s = BackendState(rawValue: state) else { throw fail("setup.backends: bad state \(state)") }
                fixture.backendStates[backend] = s
            }
            for flow in setup["flows"] as? [[String: String]] ?? [] {
                guard let key = flow["key"], let backend = flow["backend"] else {
                    throw fail("setup.flows: need key and backend")
                }
                fixture.flows.append(Flow(key: key, backend: backend))
            }
            fixture.mtu = setup["mtu"] as? Int
            fixture.swapMACs = (setup["macs"] as? String) == "swap"
            fixture.prior = setup["prior"] as? [String] ?? []
        }
        if let reason = fixture.expect.reason, DropReason(name: reason) == nil {
            throw fail("unknown drop reason \(reason)")
        }
        return fixture
    }

    /// The tables this case starts from: the config's, then the setup applied.
    public func tables() throws -> DatapathTables {
        var tables = DatapathTables(config: config)
        for (name, state) in backendStates {
            guard let index = tables.backendNames.first(where: { $0.value == name })?.key else {
                throw LoadError(
                    description: "\(self.name): no backend '\(name)'; have \(tables.backendNames.values.sorted())")
            }
            tables.backends[index]?.state = state
        }
        for flow in flows {
            guard let index = tables.backendNames.first(where: { $0.value == flow.backend })?.key else {
                throw LoadError(description: "\(name): no backend '\(flow.backend)'")
            }
            let p = try PacketSpec.parse(flow.key)
            guard case (let sport, let dport, let proto)? = p.ports,
                let l4 = L4Protocol(rawValue: proto),
                let service = tables.services[ServiceKey(vip: p.destination, port: dport, proto: l4)]
            else {
                throw LoadError(description: "\(name): flow '\(flow.key)' is not for a service")
            }
            let key = FlowKey(
                source: p.source, destination: p.destination, sourcePort: service.sourceIPKey ? 0 : sport,
                destinationPort: dport, proto: proto)
            tables.flows.install(key, DatapathTables.FlowEntry(backend: index, service: service.id), now: 0)
        }
        if let mtu { tables.node.mtu = mtu }
        if swapMACs {
            tables.node.sourceMAC = nil
            tables.node.nextHopMAC = nil
        }
        return tables
    }

    public func frame() throws -> [UInt8] { try PacketSpec.parse(packet).frame() }
}

extension PacketDescription {
    /// Source port, destination port and protocol for TCP/UDP.
    public var ports: (UInt16, UInt16, UInt8)? {
        switch transport {
        case .tcp(let s, let d, _): (s, d, IPProtocolNumber.tcp)
        case .udp(let s, let d): (s, d, IPProtocolNumber.udp)
        case .icmp: nil
        }
    }
}
