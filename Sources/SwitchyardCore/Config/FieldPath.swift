/// Where a value sits in a configuration, independent of how it was written down: the YAML
/// reader maps a path to a line, a Kubernetes source to an object and field. Printed the way an
/// operator reads it: `services[2].backends[1].weight`, `node.mtu`.
public struct FieldPath: Hashable, Sendable, CustomStringConvertible {
    public enum Component: Hashable, Sendable {
        case key(String)
        case index(Int)
    }

    public private(set) var components: [Component]

    public init(_ components: [Component] = []) { self.components = components }

    /// The whole document.
    public static let root = FieldPath()

    public static func key(_ name: String) -> FieldPath { FieldPath([.key(name)]) }

    /// The field `name` of the mapping at this path.
    public func key(_ name: String) -> FieldPath { FieldPath(components + [.key(name)]) }

    /// Element `index` of the list at this path.
    public func index(_ index: Int) -> FieldPath { FieldPath(components + [.index(index)]) }

    /// The enclosing field; nil for the root.
    public var parent: FieldPath? { components.isEmpty ? nil : FieldPath(components.dropLast()) }

    /// Whether this path is `other` or lies inside it.
    public func isWithin(_ other: FieldPath) -> Bool {
        components.starts(with: other.components)
    }

    public var description: String {
        guard !components.isEmpty else { return "(document)" }
        var text = ""
        for component in components {
            switch component {
            case .key(let name): text += text.isEmpty ? name : ".\(name)"
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }
}
