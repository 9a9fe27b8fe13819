/// `metav1.LabelSelector`: every `matchLabels` pair and every expression must hold. An empty
/// selector matches everything, as on the server.
public struct LabelSelector: Codable, Sendable, Hashable {
    public var matchLabels: [String: String]?
    public var matchExpressions: [LabelSelectorRequirement]?

    public init(matchLabels: [String: String]? = nil, matchExpressions: [LabelSelectorRequirement]? = nil) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    /// Whether an object with these labels is selected. An invalid selector (see
    /// `validationErrors`) selects nothing, so a typo never widens a pool to every Service.
    public func matches(_ labels: [String: String]) -> Bool {
        guard validationErrors.isEmpty else { return false }
        for (key, value) in matchLabels ?? [:] where labels[key] != value { return false }
        for requirement in matchExpressions ?? [] where !requirement.matches(labels) { return false }
        return true
    }

    /// Why the server would reject this selector: In/NotIn need values, Exists/DoesNotExist take
    /// none, and the operator must be one of the four. Empty when valid.
    public var validationErrors: [String] {
        (matchExpressions ?? []).compactMap(\.validationError)
    }
}

public struct LabelSelectorRequirement: Codable, Sendable, Hashable {
    public var key: String
    /// In, NotIn, Exists or DoesNotExist.
    public var `operator`: String
    public var values: [String]?

    public init(key: String, operator: String, values: [String]? = nil) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }

    public func matches(_ labels: [String: String]) -> Bool {
        let value = labels[key]
        switch self.operator {
        case "In": return value.map { (values ?? []).contains($0) } ?? false
        case "NotIn": return value.map { !(values ?? []).contains($0) } ?? true
        case "Exists": return value != nil
        case "DoesNotExist": return value == nil
        default: return false
        }
    }

    var validationError: String? {
        switch self.operator {
        case "In", "NotIn":
            (values ?? []).isEmpty ? "expression on \"\(key)\": \(self.operator) needs at least one value" : nil
        case "Exists", "DoesNotExist":
            (values ?? []).isEmpty ? nil : "expression on \"\(key)\": \(self.operator) takes no values"
        default:
            "expression on \"\(key)\": unknown operator \"\(self.operator)\" (use In, NotIn, Exists or DoesNotExist)"
        }
    }
}
