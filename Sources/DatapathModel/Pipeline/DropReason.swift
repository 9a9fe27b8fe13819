import SwitchyardABI

/// Drop reasons come from the ABI header (`enum sy_drop_reason`); this only adds names and the
/// list of them. Metrics, the CLI and fixture files use `name`.
public typealias DropReason = sy_drop_reason

extension sy_drop_reason: @retroactive Hashable, @unchecked @retroactive Sendable, @retroactive CustomStringConvertible
{
    public static var allCases: [DropReason] {
        (0..<SY_DROP__COUNT.rawValue).map { DropReason(rawValue: $0) }
    }

    public var name: String {
        guard let name = sy_drop_reason_name(rawValue) else { return "unknown_\(rawValue)" }
        return String(cString: name)
    }

    public init?(name: String) {
        guard let reason = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = reason
    }

    public var description: String { name }
}
