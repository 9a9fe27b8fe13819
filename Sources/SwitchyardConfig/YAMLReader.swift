import Yams

/// A YAML node with where it came from, and a sink for errors about it. Reading never throws:
/// every problem is recorded and reading goes on, so one run reports every error in the file.
struct Located {
    let node: Node
    let path: String
    var line: Int { node.mark?.line ?? 1 }
}

final class ErrorSink {
    let file: String
    private(set) var errors: [ConfigError] = []

    init(file: String) { self.file = file }

    func add(_ line: Int, _ field: String, _ message: String) {
        errors.append(ConfigError(file: file, line: line, field: field, message: message))
    }

    func add(_ at: Located, _ message: String) { add(at.line, at.path, message) }
}

/// Reads a YAML mapping whose keys are known in advance; anything else is an error.
struct MappingReader {
    let at: Located
    let sink: ErrorSink
    private var fields: [String: Located] = [:]

    /// Nil (with an error recorded) when `at` is not a mapping.
    init?(_ at: Located, known: Set<String>, sink: ErrorSink) {
        self.at = at
        self.sink = sink
        guard case .mapping(let mapping) = at.node else {
            sink.add(at, "expected a mapping of \(known.sorted().joined(separator: ", "))")
            return nil
        }
        for (keyNode, value) in mapping {
            let key = keyNode.scalar?.string ?? "?"
            let path = at.path.isEmpty ? key : "\(at.path).\(key)"
            let keyLine = keyNode.mark?.line ?? at.line
            guard known.contains(key) else {
                let hint = Self.closest(to: key, in: known).map { " (did you mean '\($0)'?)" } ?? ""
                sink.add(keyLine, path, "unknown key\(hint); expected one of: \(known.sorted().joined(separator: ", "))")
                continue
            }
            if let earlier = fields[key] {
                sink.add(keyLine, path, "duplicate key (first at line \(earlier.line))")
                continue
            }
            fields[key] = Located(node: value, path: path)
        }
    }

    subscript(key: String) -> Located? { fields[key] }

    /// The keys a mapping node has, valid or not.
    static func keys(of node: Node) -> Set<String> {
        guard case .mapping(let mapping) = node else { return [] }
        return Set(mapping.compactMap { $0.key.scalar?.string })
    }

    /// The path a missing field would have had.
    func path(_ key: String) -> String { at.path.isEmpty ? key : "\(at.path).\(key)" }

    func required(_ key: String) -> Located? {
        guard let field = fields[key] else {
            sink.add(at.line, path(key), "required field is missing")
            return nil
        }
        return field
    }

    func string(_ key: String, required: Bool = false) -> String? {
        guard let field = required ? self.required(key) : fields[key] else { return nil }
        guard case .scalar(let scalar) = field.node, !scalar.string.isEmpty else {
            sink.add(field, "expected a non-empty string")
            return nil
        }
        return scalar.string
    }

    /// Parses a scalar with `parse`; on failure records "expected <what>, got '<text>'".
    func value<T>(_ key: String, required: Bool = false, expected: String, _ parse: (String) -> T?) -> T? {
        guard let field = required ? self.required(key) : fields[key] else { return nil }
        guard case .scalar(let scalar) = field.node else {
            sink.add(field, "expected \(expected), got a \(field.node.kindName)")
            return nil
        }
        guard let result = parse(scalar.string) else {
            sink.add(field, "expected \(expected), got '\(scalar.string)'")
            return nil
        }
        return result
    }

    func integer(_ key: String, in range: ClosedRange<Int>, required: Bool = false) -> Int? {
        value(key, required: required, expected: "an integer from \(range.lowerBound) to \(range.upperBound)") {
            guard let n = Int($0), range.contains(n) else { return nil }
            return n
        }
    }

    func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) -> E? where E.RawValue == String {
        value(key, expected: "one of " + E.allCases.map { $0.rawValue }.joined(separator: ", ")) { E(rawValue: $0) }
    }

    func sequence(_ key: String, required: Bool = false) -> [Located]? {
        guard let field = required ? self.required(key) : fields[key] else { return nil }
        guard case .sequence(let items) = field.node else {
            sink.add(field, "expected a list, got a \(field.node.kindName)")
            return nil
        }
        return items.enumerated().map { Located(node: $1, path: "\(field.path)[\($0)]") }
    }

    /// The known key nearest to a misspelt one (edit distance at most 2).
    static func closest(to key: String, in known: Set<String>) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for i in 1...max(a.count, 1) where !a.isEmpty {
                var previous = row[0]
                row[0] = i
                for j in stride(from: 1, through: b.count, by: 1) {
                    let current = row[j]
                    row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                    previous = current
                }
            }
            return row[b.count]
        }
        let lower = Array(key.lowercased())
        return known.map { ($0, distance(lower, Array($0.lowercased()))) }
            .filter { $0.1 <= 2 }
            .min { ($0.1, $0.0) < ($1.1, $1.0) }?.0
    }
}

extension Node {
    var kindName: String {
        switch self {
        case .scalar: "scalar"
        case .mapping: "mapping"
        case .sequence: "list"
        case .alias: "alias"
        }
    }
}
