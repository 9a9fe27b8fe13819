import Foundation
import SwitchyardABI
import SwitchyardCore
import Yams

/// The config file boundary: YAML text in, a validated `SwitchyardConfig` or every error out.
/// Nothing past this file sees YAML.
public enum ConfigLoader {
    public static func load(path: String) -> Result<SwitchyardConfig, ConfigErrors> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(ConfigErrors([ConfigError(file: path, line: 0, field: "file", message: "cannot be read")]))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return .failure(ConfigErrors([ConfigError(file: path, line: 0, field: "file", message: "is not UTF-8 text")]))
        }
        return parse(yaml: text, file: path)
    }

    public static func parse(yaml: String, file: String) -> Result<SwitchyardConfig, ConfigErrors> {
        let sink = ErrorSink(file: file)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                sink.add(1, "file", "is empty; expected a mapping with 'node' and 'services'")
                return .failure(ConfigErrors(sink.errors))
            }
            root = node
        } catch let error as YamlError {
            sink.add(error.line, "yaml", error.problem)
            return .failure(ConfigErrors(sink.errors))
        } catch {
            sink.add(1, "yaml", "\(error)")
            return .failure(ConfigErrors(sink.errors))
        }
        let config = ConfigReader(sink: sink).read(Located(node: root, path: ""))
        if let config, sink.errors.isEmpty { return .success(config) }
        return .failure(ConfigErrors(sink.errors.sorted { ($0.line, $0.field) < ($1.line, $1.field) }))
    }
}

extension YamlError {
    var line: Int {
        switch self {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        case .duplicatedKeysInMapping(_, let context): context.mark.line
        default: 1
        }
    }

    var problem: String {
        switch self {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
             .composer(let context, let problem, _, _):
            [context?.text, problem].compactMap { $0 }.joined(separator: ": ")
        case .duplicatedKeysInMapping(let duplicates, _):
            "duplicate key " + duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ") + " in this mapping"
        default: "\(self)"
        }
    }
}

/// Walks the document; each `read…` returns nil where the input was unusable, after recording why.
struct ConfigReader {
    let sink: ErrorSink

    static let topKeys: Set = ["node", "services"]
    static let nodeKeys: Set = ["name", "ipv4Source", "ipv6Source", "interface", "mtu", "maglevTableSize",
                                "flowTableCapacity", "newFlowRatePerCPU", "flowEvictIdleSeconds", "pinDirectory",
                                "stateDirectory", "metricsAddress", "adminSocket", "flowStore", "sourceMAC", "nextHopMAC"]
    static let storeKeys: Set = ["type", "address", "user", "password", "path", "newFlowSeconds", "tcpIdleSeconds", "udpIdleSeconds",
                                 "closingSeconds", "refreshSeconds", "maxEntries"]
    static let serviceKeys: Set = ["name", "vip", "ports", "mode", "flowKey", "encap", "guePort", "backends", "healthCheck"]
    static let healthKeys: Set = ["type", "path", "expectStatus", "intervalSeconds", "timeoutSeconds", "rise", "fall"]
    static let portKeys: Set = ["port", "protocol"]
    static let backendKeys: Set = ["address", "port", "weight", "state"]

    /// Limits. Maglev: the table must be prime, and much larger than the backend count for even
    /// spreading (paper §3.4 uses M > 100·N); the datapath accepts up to SY_MAGLEV_MAX_SIZE.
    static let mtuRange = 1280...9216
    static let maglevSizeRange = 251...Int(SY_MAGLEV_MAX_SIZE)
    static let flowTableRange = 1024...100_000_000
    static let portRange = 1...65535
    static let weightRange = 0...65535

    func read(_ root: Located) -> SwitchyardConfig? {
        guard let top = MappingReader(root, known: Self.topKeys, sink: sink) else { return nil }
        let node = top.required("node").flatMap(readNode)
        var services: [(Service, Located)] = []
        for (index, item) in (top.sequence("services", required: true) ?? []).enumerated() {
            services += readService(item, index: index)
        }
        guard let node else { return nil }
        crossCheck(node: node, services: services, nodeAt: top["node"]!)
        return SwitchyardConfig(node: node, services: services.map(\.0))
    }

    private func readNode(_ at: Located) -> NodeSettings? {
        guard let m = MappingReader(at, known: Self.nodeKeys, sink: sink) else { return nil }
        let name = m.string("name", required: true)
        let v4 = m.value("ipv4Source", expected: "an IPv4 address") { IPv4Address($0) }
        let v6 = m.value("ipv6Source", expected: "an IPv6 address") { IPv6Address($0) }
        let interface = m.string("interface")
        let mtu = m.integer("mtu", in: Self.mtuRange)
        let size = m.value("maglevTableSize", expected: "a prime from \(Self.maglevSizeRange.lowerBound) to \(Self.maglevSizeRange.upperBound) (e.g. 65537)") { (text: String) -> Int? in
            guard let n = Int(text), Self.maglevSizeRange.contains(n), Primes.isPrime(n) else { return nil }
            return n
        }
        let flows = m.integer("flowTableCapacity", in: Self.flowTableRange)
        let rate = m.integer("newFlowRatePerCPU", in: 0...100_000_000)
        let idle = m.value("flowEvictIdleSeconds", expected: "seconds from 0 to 3600") { (text: String) -> Double? in
            guard let x = Double(text), (0...3600).contains(x) else { return nil }
            return x
        }
        let pin = m.value("pinDirectory", expected: "an absolute path") { $0.hasPrefix("/") ? $0 : nil }
        let state = m.value("stateDirectory", expected: "an absolute path") { $0.hasPrefix("/") ? $0 : nil }
        let admin = m.value("adminSocket", expected: "an absolute path") { $0.hasPrefix("/") ? $0 : nil }
        let metrics = m.value("metricsAddress", expected: "HOST:PORT, e.g. 127.0.0.1:9400") { (text: String) -> String? in
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                  (1...65535).contains(port), !text[..<colon].isEmpty else { return nil }
            return text
        }
        var store: FlowStoreSettings?
        if let storeAt = m["flowStore"], let sm = MappingReader(storeAt, known: Self.storeKeys, sink: sink) {
            store = readFlowStore(sm, line: storeAt.line)
        }
        let sourceMAC = m.value("sourceMAC", expected: "a MAC address like 02:00:00:00:00:01") { MACAddress($0) }
        let nextHopMAC = m.value("nextHopMAC", expected: "a MAC address like 02:00:00:00:00:01") { MACAddress($0) }
        if (sourceMAC == nil) != (nextHopMAC == nil), m["sourceMAC"] != nil || m["nextHopMAC"] != nil {
            sink.add(at.line, m.path("nextHopMAC"), "sourceMAC and nextHopMAC are set together or not at all")
        }
        guard let name else { return nil }
        return NodeSettings(name: name, ipv4Source: v4, ipv6Source: v6, interface: interface,
                            mtu: mtu ?? NodeSettings.defaultMTU, maglevTableSize: size ?? Int(SY_MAGLEV_DEFAULT_SIZE),
                            flowTableCapacity: flows ?? NodeSettings.defaultFlowTableCapacity,
                            newFlowRatePerCPU: rate ?? NodeSettings.defaultNewFlowRatePerCPU,
                            flowEvictIdleSeconds: idle ?? NodeSettings.defaultFlowEvictIdleSeconds,
                            pinDirectory: pin ?? NodeSettings.defaultPinDirectory,
                            stateDirectory: state ?? NodeSettings.defaultStateDirectory,
                            metricsAddress: metrics ?? NodeSettings.defaultMetricsAddress,
                            adminSocket: admin ?? NodeSettings.defaultAdminSocket, flowStore: store,
                            sourceMAC: sourceMAC, nextHopMAC: nextHopMAC)
    }

    /// `node.flowStore`: `type: redis` (the default when `address` is given) or `embedded`.
    private func readFlowStore(_ sm: MappingReader, line: Int) -> FlowStoreSettings? {
        let kind = sm.choice("type", FlowStoreSettings.Kind.self) ?? (sm["address"] != nil ? .redis : .embedded)
        let address = sm.value("address", required: kind == .redis, expected: "HOST:PORT of a Redis server") { (t: String) -> (String, Int)? in
            guard let colon = t.lastIndex(of: ":"), let port = Int(t[t.index(after: colon)...]), (1...65535).contains(port) else { return nil }
            return (String(t[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
        }
        if kind == .embedded, sm["address"] != nil { sink.add(line, sm.path("address"), "is for type redis; the embedded store has no address") }
        let path = sm.value("path", expected: "an absolute path") { $0.hasPrefix("/") ? $0 : nil }
        let day = 1...86400
        let user = sm.string("user"), password = sm.string("password")
        var settings = FlowStoreSettings(kind: kind, host: address?.0 ?? "", port: address?.1 ?? 6379, user: user,
                                         password: password, path: path)
        settings.newFlowSeconds = sm.integer("newFlowSeconds", in: day) ?? settings.newFlowSeconds
        settings.tcpIdleSeconds = sm.integer("tcpIdleSeconds", in: day) ?? settings.tcpIdleSeconds
        settings.udpIdleSeconds = sm.integer("udpIdleSeconds", in: day) ?? settings.udpIdleSeconds
        settings.closingSeconds = sm.integer("closingSeconds", in: day) ?? settings.closingSeconds
        settings.refreshSeconds = sm.integer("refreshSeconds", in: day) ?? settings.refreshSeconds
        settings.maxEntries = sm.integer("maxEntries", in: 1000...100_000_000) ?? settings.maxEntries
        if user != nil, password == nil { sink.add(line, sm.path("password"), "required with user (AUTH user password)") }
        let shortest = min(settings.newFlowSeconds, settings.tcpIdleSeconds, settings.udpIdleSeconds)
        if settings.refreshSeconds >= shortest {
            sink.add(line, sm.path("refreshSeconds"),
                     "\(settings.refreshSeconds) s must be shorter than the shortest entry lifetime (\(shortest) s), or live entries expire between refreshes")
        }
        return kind == .redis && address == nil ? nil : settings
    }

    /// One YAML service becomes one `Service` per port entry.
    private func readService(_ at: Located, index: Int) -> [(Service, Located)] {
        guard let m = MappingReader(at, known: Self.serviceKeys, sink: sink) else { return [] }
        let name = m.string("name", required: true)
        let vip = m.value("vip", required: true, expected: "a unicast IPv4 or IPv6 address") { text -> IPAddress? in
            guard let a = IPAddress(text), !a.isUnspecified, !a.isMulticast else { return nil }
            return a
        }
        let mode = m.choice("mode", ServiceMode.self) ?? .stateless
        let flowKey = m.choice("flowKey", FlowKeyKind.self) ?? .connection
        let encap = m.choice("encap", Encapsulation.self) ?? .ipip
        let guePort = m.integer("guePort", in: Self.portRange)
        let health = m["healthCheck"].flatMap(readHealthCheck)
        if let gueAt = m["guePort"], encap != .gue {
            sink.add(gueAt, "is set but encap is \(encap.rawValue); set encap: gue or remove guePort")
        }

        var ports: [(port: UInt16, proto: L4Protocol, at: Located)] = []
        let portItems = m.sequence("ports", required: true) ?? []
        if portItems.isEmpty, let portsAt = m["ports"] {
            sink.add(portsAt, "needs at least one {port, protocol}")
        }
        for item in portItems {
            guard let p = MappingReader(item, known: Self.portKeys, sink: sink) else { continue }
            let port = p.integer("port", in: Self.portRange, required: true)
            let proto = p.value("protocol", expected: "tcp or udp") { L4Protocol(name: $0) } ?? (p["protocol"] == nil ? .tcp : nil)
            if let port, let proto { ports.append((UInt16(port), proto, item)) }
        }

        var backends: [(address: IPAddress, port: UInt16?, weight: UInt16, state: BackendState, at: Located)] = []
        var seen: [String: Int] = [:] // "service port|backend identity" → line
        for item in m.sequence("backends", required: true) ?? [] {
            guard let b = MappingReader(item, known: Self.backendKeys, sink: sink) else { continue }
            let address = b.value("address", required: true, expected: "a unicast IPv4 or IPv6 address") { text -> IPAddress? in
                guard let a = IPAddress(text), !a.isUnspecified, !a.isMulticast else { return nil }
                return a
            }
            let port = b.integer("port", in: Self.portRange)
            let weight = b.integer("weight", in: Self.weightRange)
            let state = b.choice("state", BackendState.self)
            guard let address else { continue }
            if let vip, encap == .ipip, address.family != vip.family {
                sink.add(b["address"]!, "backend is \(address.family) but VIP \(vip) is \(vip.family); ipip carries one family in the same family, use encap: gue to mix")
            }
            for (servicePort, _, _) in ports {
                let identity = BackendIdentity(address: address, port: port.map(UInt16.init) ?? servicePort)
                let seenKey = "\(servicePort)|\(identity)"
                if let first = seen[seenKey] {
                    sink.add(item, "duplicate backend \(identity) (first at line \(first))")
                    break
                }
                seen[seenKey] = item.line
            }
            backends.append((address, port.map(UInt16.init), UInt16(weight ?? 1), state ?? .up, item))
        }

        guard let name, let vip else { return [] }
        return ports.map { entry in
            let service = Service(
                name: ports.count == 1 ? name : "\(name)/\(entry.port)/\(entry.proto)",
                key: ServiceKey(vip: vip, port: entry.port, proto: entry.proto),
                mode: mode, flowKey: flowKey, encap: encap,
                guePort: UInt16(guePort ?? Int(SY_DEFAULT_GUE_PORT)),
                backends: backends.map {
                    Backend(address: $0.address, port: $0.port ?? entry.port, weight: $0.weight, state: $0.state)
                },
                healthCheck: health)
            return (service, Located(node: entry.at.node, path: "services[\(index)]"))
        }
    }

    private func readHealthCheck(_ at: Located) -> HealthCheck? {
        guard let m = MappingReader(at, known: Self.healthKeys, sink: sink) else { return nil }
        var check = HealthCheck()
        if let kind = m.choice("type", HealthCheck.Kind.self) { check.kind = kind }
        if let path = m.value("path", expected: "a path starting with /", { $0.hasPrefix("/") ? $0 : nil }) { check.path = path }
        if let status = m.integer("expectStatus", in: 100...599) { check.expectStatus = status }
        func seconds(_ key: String) -> Double? {
            m.value(key, expected: "seconds from 0.05 to 3600") { (t: String) -> Double? in
                guard let x = Double(t), (0.05...3600).contains(x) else { return nil }
                return x
            }
        }
        if let interval = seconds("intervalSeconds") { check.intervalSeconds = interval }
        if let timeout = seconds("timeoutSeconds") { check.timeoutSeconds = timeout }
        if let rise = m.integer("rise", in: 1...100) { check.rise = rise }
        if let fall = m.integer("fall", in: 1...100) { check.fall = fall }
        if check.timeoutSeconds > check.intervalSeconds, let t = m["timeoutSeconds"] {
            sink.add(t, "\(check.timeoutSeconds) s exceeds intervalSeconds \(check.intervalSeconds) s; probes would overlap")
        }
        return check
    }

    /// Rules that span services or tie services to the node.
    private func crossCheck(node: NodeSettings, services: [(Service, Located)], nodeAt: Located) {
        var firstKey: [ServiceKey: Int] = [:]
        var firstName: [String: Int] = [:]
        var guePortOfBackend: [IPAddress: (port: UInt16, path: String)] = [:]
        var missingSource: Set<IPAddress.Family> = []
        for (service, at) in services {
            if let first = firstKey[service.key] {
                sink.add(at.line, "\(at.path).ports", "duplicate service \(service.key) (first at line \(first))")
            } else {
                firstKey[service.key] = at.line
            }
            if let first = firstName[service.name], first != at.line {
                sink.add(at.line, "\(at.path).name", "duplicate service name '\(service.name)' (first at line \(first))")
            } else {
                firstName[service.name] = at.line
            }
            let members = service.ringMembers.count
            if members > 0 && node.maglevTableSize < 100 * members {
                sink.add(nodeAt.line, "node.maglevTableSize", "\(node.maglevTableSize) is under 100 × \(members) backends of \(service.name); Maglev spreads unevenly below that (use a prime ≥ \(Primes.next(atLeast: 100 * members)))")
            }
            for backend in service.backends {
                if backend.address.family == .v4 && node.ipv4Source == nil { missingSource.insert(.v4) }
                if backend.address.family == .v6 && node.ipv6Source == nil { missingSource.insert(.v6) }
                guard service.encap == .gue else { continue }
                if let other = guePortOfBackend[backend.address], other.port != service.guePort {
                    sink.add(at.line, "\(at.path).guePort", "GUE port clash: backend \(backend.address) already receives GUE on port \(other.port) (\(other.path)); a backend host decapsulates one GUE port")
                } else {
                    guePortOfBackend[backend.address] = (service.guePort, at.path)
                }
            }
            let overhead = service.encap == .gue ? Int(SY_OVERHEAD_GUE6) : Int(SY_OVERHEAD_IP6IP6)
            if service.key.vip.family == .v6 && node.mtu - overhead < 1280 {
                sink.add(nodeAt.line, "node.mtu", "\(node.mtu) leaves \(node.mtu - overhead) bytes for IPv6 service \(service.name) after encapsulation; IPv6 needs 1280 (RFC 8200 §5)")
            }
        }
        let given = MappingReader.keys(of: nodeAt.node)
        for family in missingSource.sorted(by: { $0.rawValue < $1.rawValue }) {
            let key = family == .v4 ? "ipv4Source" : "ipv6Source"
            guard !given.contains(key) else { continue } // present but invalid: already reported
            let field = "node.\(key)"
            sink.add(nodeAt.line, field, "required: some backends are \(family) and packets to them need an outer \(family) source")
        }
    }
}
