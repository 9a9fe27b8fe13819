import SwitchyardABI

/// Things the datapath counts that are not drops (`enum sy_event` in the ABI header); this only
/// adds names and the list of them, as `DropReason` does.
public typealias DatapathEvent = sy_event

extension sy_event: @retroactive Hashable, @unchecked @retroactive Sendable, @retroactive CustomStringConvertible {
    public static var allCases: [DatapathEvent] {
        (0..<SY_EVENT__COUNT.rawValue).map { DatapathEvent(rawValue: $0) }
    }

    public var name: String {
        guard let name = sy_event_name(rawValue) else { return "unknown_\(rawValue)" }
        return String(cString: name)
    }

    public var description: String { name }
}
