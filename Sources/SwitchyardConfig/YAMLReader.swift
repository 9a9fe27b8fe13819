import SwitchyardCore
import Yams

/// A YAML node with the config field it holds.
struct Located {
    let node: Node
    let path: FieldPath
    var line: Int { node.mark?.line ?? 1 }
}

/// What reading one document found: problems with its shape and scalar types, and the line of
/// every field it saw, so a problem the core finds at a field path is reported at its line.
/// Reading never throws: every problem is recorded and reading goes on, so one run reports
/// every error in the file.
final class ReadLog {
    struct Entry {
        let line: Int
        let path: FieldPath
        let message: String
    }

    private(set) var entries: [Entry] = []
    private var lines: [FieldPath: Int] = [:]

    func add(_ line: Int, _ path: FieldPath, _ message: String) {
        entries.append(Entry(line: line, path: path, message: message))
    }

    func add(_ at: Located, _ message: String) { add(at.line, at.path, message) }

    func saw(_ at: Located) {
        if lines[at.path] == nil { lines[at.path] = at.line }
    }

    /// The line of `path`, or of the nearest enclosing field written in the file: a missing
    /// field is reported where the mapping that lacks it is.
    func line(of path: FieldPath) -> Int {
        var current: FieldPath? = path
        while let candidate = current {
            if let line = lines[candidate] { return line }
            current = candidate.parent
        }
        return 1
    }

    /// Whether a problem at `path` follows from one already recorded here: a field the reader
    /// could not take is absent from the spec, and the core would only report that again.
    func covers(_ path: FieldPath) -> Bool {
        entries.contains { path.isWithin($0.path) }
    }
}

/// Reads a YAML mapping whose keys are known in advance; anything else is an error.
struct MappingReader {
    let at: Located
    let log: ReadLog
    private var fields: [String: Located] = [:]

    /// Nil (with an error recorded) when `at` is not a mapping.
    init?(_ at: Located, known: Set<String>, log: ReadLog) {
        self.at = at
        self.log = log
        log.saw(at)
        guard case .mapping(let mapping) = at.node else {
            log.add(at, "expected a mapping of \(known.sorted().joined(separator: ", ")), got a \(at.node.kindName)")
            return nil
        }
        for (keyNode, value) in mapping {
            let key = keyNode.scalar?.string ?? "?"
            let path = at.path.key(key)
            let keyLine = keyNode.mark?.line ?? at.line
            guard known.contains(key) else {
                let hint = Self.closest(to: key, in: known).map { " (did you mean '\($0)'?)" } ?? ""
                log.add(keyLine, path, "unknown key\(hint); expected one of: \(known.sorted().joined(separator: ", "))")
                continue
            }
            if let earlier = fields[key] {
                log.add(keyLine, path, "duplicate key (first at line \(earlier.line))")
                continue
            }
            let field = Located(node: value, path: path)
            log.saw(field)
            fields[key] = field
        }
    }

    subscript(key: String) -> Located? { fields[key] }

    /// Any scalar, as text; a quoted number is text too.
    func string(_ key: String) -> String? {
        guard let field = fields[key] else { return nil }
        guard case .scalar(let scalar) = field.node, !scalar.string.isEmpty else {
            log.add(field, "expected a non-empty string, got \(Self.describe(field.node))")
            return nil
        }
        return scalar.string
    }

    /// A plain scalar that reads as an integer: `mtu: "1500"` is a string in YAML, not a number.
    func integer(_ key: String) -> Int? { number(key, expected: "an integer") { Int($0) } }

    /// A plain scalar that reads as a number (seconds may be fractional).
    func double(_ key: String) -> Double? { number(key, expected: "a number") { Double($0) } }

    private func number<T>(_ key: String, expected: String, _ parse: (String) -> T?) -> T? {
        guard let field = fields[key] else { return nil }
        guard case .scalar(let scalar) = field.node, scalar.style == .plain || scalar.style == .any,
            let value = parse(scalar.string)
        else {
            log.add(field, "expected \(expected), got \(Self.describe(field.node))")
            return nil
        }
        return value
    }

    /// The list's elements, each with its index in the path. An empty list when the field holds
    /// something else (recorded), so the rest of the entry is still read.
    func sequence(_ key: String) -> [Located]? {
        guard let field = fields[key] else { return nil }
        guard case .sequence(let items) = field.node else {
            log.add(field, "expected a list, got \(Self.describe(field.node))")
            return []
        }
        return items.enumerated().map { index, item in
            let element = Located(node: item, path: field.path.index(index))
            log.saw(element)
            return element
        }
    }

    /// A list of scalars as text. An element that is not one is recorded and stands as "" so the
    /// others keep their indices (the core's complaint about "" is covered by the record).
    func strings(_ key: String) -> [String]? {
        sequence(key)?.map { item in
            guard case .scalar(let scalar) = item.node, !scalar.string.isEmpty else {
                log.add(item, "expected a non-empty string, got \(Self.describe(item.node))")
                return ""
            }
            return scalar.string
        }
    }

    /// What a node holds, for "expected X, got Y": quoted scalars say they are strings.
    static func describe(_ node: Node) -> String {
        guard case .scalar(let scalar) = node else { return "a \(node.kindName)" }
        switch scalar.style {
        case .singleQuoted, .doubleQuoted, .literal, .folded: return "the string \"\(scalar.string)\""
        case .plain, .any: return scalar.string.isEmpty ? "nothing" : "'\(scalar.string)'"
        }
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
