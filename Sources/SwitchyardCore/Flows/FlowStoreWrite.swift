/// One change to the shared flow table.
public enum FlowStoreWrite: Sendable, Equatable {
    /// Creates or refreshes an entry that lives `seconds`; `announce` tells the other nodes now
    /// (new entries) rather than leaving them to the next snapshot.
    case put(FlowRecord, seconds: Int, announce: Bool)
    case delete(FlowRecord)

    public var record: FlowRecord {
        switch self {
        case .put(let r, _, _), .delete(let r): r
        }
    }
}
