/// One rule a configuration breaks, at the field that breaks it. The source the configuration
/// came from turns `path` into something an operator can find (a file line, an object field).
public struct ConfigProblem: Hashable, Sendable, CustomStringConvertible {
    public var path: FieldPath
    public var message: String
    /// The earlier field this one repeats or clashes with (a duplicate's first occurrence), so
    /// the source can point at both.
    public var firstAt: FieldPath?

    public init(path: FieldPath, message: String, firstAt: FieldPath? = nil) {
        self.path = path
        self.message = message
        self.firstAt = firstAt
    }

    public var description: String {
        "\(path): \(message)" + (firstAt.map { " (first at \($0))" } ?? "")
    }
}

/// Every problem of one configuration; a configuration with any problem is not used at all.
public struct ConfigProblems: Error, Hashable, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]

    public init(_ problems: [ConfigProblem]) { self.problems = problems }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
