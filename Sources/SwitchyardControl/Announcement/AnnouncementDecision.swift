import SwitchyardCore

/// The outcome of one evaluation: every VIP is either announced (with a mode) or withheld (with a
/// reason), never both, never neither.
public struct AnnouncementDecision: Hashable, Sendable {
    public var announced: [IPAddress: AnnouncementMode]
    public var withheld: [IPAddress: AnnouncementWithheldReason]
    /// When the decision changes with no new facts (the drain period ends): evaluate again then.
    /// Nil when only new facts can change it.
    public var reevaluateAt: Duration?

    public init(
        announced: [IPAddress: AnnouncementMode] = [:], withheld: [IPAddress: AnnouncementWithheldReason] = [:],
        reevaluateAt: Duration? = nil
    ) {
        self.announced = announced
        self.withheld = withheld
        self.reevaluateAt = reevaluateAt
    }
}
