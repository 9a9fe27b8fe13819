import DatapathModel

/// How often source ranges decided a packet in a random run: dropped (`source_range`), or
/// admitted by a service that has ranges. A run proves the rule only if both are well above zero.
public struct SourceRangeOutcomes: Sendable, CustomStringConvertible {
    public private(set) var dropped = 0
    public private(set) var admitted = 0

    public init() {}

    /// Counts the model's `result` for a packet run against `tables`.
    public mutating func count(_ result: PipelineResult?, tables: DatapathTables) {
        guard let result else { return }
        if result.verdict == .drop(.sourceRange) {
            dropped += 1
        } else if let id = result.decision?.serviceID,
            tables.services.values.contains(where: { $0.id == id && !$0.sourceRanges.isEmpty })
        {
            admitted += 1
        }
    }

    public var description: String { "\(dropped) dropped (source_range), \(admitted) admitted by a range" }
}
