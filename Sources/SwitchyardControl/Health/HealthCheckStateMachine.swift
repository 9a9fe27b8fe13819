import SwitchyardCore

/// One backend's health, from probe results. Pure: the prober reports what happened, the
/// machine says whether the backend's health changed; no clocks, no sockets.
///
/// Starts `up` (optimistic: a new LB node must not black-hole a service while its first probes
/// run); `fall` consecutive failures take it down, `rise` consecutive successes bring it back.
public struct HealthCheckStateMachine: Sendable, Equatable {
    public enum Health: String, Sendable, Codable {
        case up
        case down
    }

    public enum Action: Sendable, Equatable {
        case changed(from: Health, to: Health, reason: String)
    }

    public private(set) var health: Health
    public private(set) var consecutiveSuccesses = 0
    public private(set) var consecutiveFailures = 0
    public let rise: Int
    public let fall: Int

    public init(rise: Int, fall: Int, initial: Health = .up) {
        precondition(rise >= 1 && fall >= 1, "rise and fall are at least 1")
        self.rise = rise
        self.fall = fall
        health = initial
    }

    /// Down, but its latest probes succeed: it will be up after `rise` of them in a row.
    public var rising: Bool { health == .down && consecutiveSuccesses > 0 }

    public mutating func probeSucceeded() -> Action? {
        consecutiveSuccesses += 1
        consecutiveFailures = 0
        guard health == .down, consecutiveSuccesses >= rise else { return nil }
        health = .up
        return .changed(from: .down, to: .up, reason: "\(consecutiveSuccesses) consecutive probes succeeded")
    }

    public mutating func probeFailed(reason: String) -> Action? {
        consecutiveFailures += 1
        consecutiveSuccesses = 0
        guard health == .up, consecutiveFailures >= fall else { return nil }
        health = .down
        return .changed(
            from: .up, to: .down, reason: "\(consecutiveFailures) consecutive probes failed, last: \(reason)")
    }
}
