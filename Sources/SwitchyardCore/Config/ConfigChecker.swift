/// Walks a `ConfigSpec`, collecting every problem instead of stopping at the first, and builds
/// the configuration from what is valid (defaults standing in for what is not), so rules that
/// span fields can still run. The result is used only when no problem was found.
struct ConfigChecker {
    private(set) var problems: [ConfigProblem] = []
    private var reported: Set<ConfigProblem> = []
    /// Fields whose own value broke a rule: rules combining fields skip them, so one bad value
    /// is one problem, not one plus its consequences.
    private(set) var invalid: Set<FieldPath> = []

    mutating func check(_ spec: ConfigSpec) -> SwitchyardConfig? {
        var node = required(spec.node, .key("node")).map { checkNode($0, at: .key("node")) }
        var placed: [PlacedService] = []
        for (index, service) in (required(spec.services, .key("services")) ?? []).enumerated() {
            placed += checkService(service, index: index)
        }
        // After the services: peers carry the VIPs' families unless told otherwise.
        if let settings = node, let nodeSpec = spec.node, let bgp = nodeSpec.bgp {
            node?.bgp = checkBGP(
                bgp, at: FieldPath.key("node").key("bgp"), node: settings, nodeSpec: nodeSpec,
                vipFamilies: Set(placed.map(\.service.key.vip.family)))
        }
        if let node, let nodeSpec = spec.node {
            crossCheck(node: node, spec: nodeSpec, services: placed)
        }
        guard let node else { return nil }
        return SwitchyardConfig(node: node, services: placed.map(\.service))
    }

    mutating func report(_ path: FieldPath, _ message: String, firstAt: FieldPath? = nil) {
        let problem = ConfigProblem(path: path, message: message, firstAt: firstAt)
        guard reported.insert(problem).inserted else { return } // a multi-port service repeats its rules
        problems.append(problem)
    }

    func isValid(_ path: FieldPath) -> Bool { !invalid.contains(path) }

    /// Records that `path` holds something other than `expected`; always nil.
    mutating func reject<T>(_ path: FieldPath, expected: String, got: String) -> T? {
        invalid.insert(path)
        report(path, "expected \(expected), got \(got)")
        return nil
    }

    /// Records that the value at `path` breaks a rule `message` explains; always nil.
    mutating func refuse<T>(_ path: FieldPath, _ message: String) -> T? {
        invalid.insert(path)
        report(path, message)
        return nil
    }

    mutating func required<T>(_ value: T?, _ path: FieldPath) -> T? {
        if value == nil {
            invalid.insert(path)
            report(path, "required field is missing")
        }
        return value
    }

    mutating func integer(_ value: Int?, _ path: FieldPath, in range: ClosedRange<Int>) -> Int? {
        guard let value else { return nil }
        guard range.contains(value) else {
            return reject(path, expected: "an integer from \(range.lowerBound) to \(range.upperBound)", got: "\(value)")
        }
        return value
    }

    mutating func seconds(_ value: Double?, _ path: FieldPath, in range: ClosedRange<Double>) -> Double? {
        guard let value else { return nil }
        guard range.contains(value) else {
            let expected = "seconds from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound))"
            return reject(path, expected: expected, got: Self.format(value))
        }
        return value
    }

    /// `3600` rather than `3600.0`: numbers read back the way they are written.
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int(value))" : "\(value)"
    }

    /// Text that `parse` must accept, reported as "expected <expected>, got '<text>'".
    mutating func parsed<T>(_ text: String?, _ path: FieldPath, expected: String, _ parse: (String) -> T?) -> T? {
        guard let text else { return nil }
        guard let value = parse(text) else { return reject(path, expected: expected, got: "'\(text)'") }
        return value
    }

    mutating func choice<E: RawRepresentable & CaseIterable>(_ text: String?, _ path: FieldPath) -> E?
    where E.RawValue == String {
        parsed(text, path, expected: "one of " + E.allCases.map(\.rawValue).joined(separator: ", ")) { E(rawValue: $0) }
    }

    mutating func nonEmpty(_ text: String?, _ path: FieldPath) -> String? {
        parsed(text, path, expected: "a non-empty string") { $0.isEmpty ? nil : $0 }
    }

    mutating func absolutePath(_ text: String?, _ path: FieldPath) -> String? {
        parsed(text, path, expected: "an absolute path") { $0.hasPrefix("/") ? $0 : nil }
    }

    mutating func unicastAddress(_ text: String?, _ path: FieldPath) -> IPAddress? {
        parsed(text, path, expected: "a unicast IPv4 or IPv6 address") { text -> IPAddress? in
            guard let address = IPAddress(text), !address.isUnspecified, !address.isMulticast else { return nil }
            return address
        }
    }
}

/// A service the checker accepted, with where it came from: entry `index` of `services` (named
/// `entryName`), entry `portIndex` of its `ports`.
struct PlacedService {
    let service: Service
    let entryName: String
    let index: Int
    let portIndex: Int

    var path: FieldPath { FieldPath.key("services").index(index) }
}
