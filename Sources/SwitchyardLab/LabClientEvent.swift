import Foundation

/// One line `lab-client` prints for the controller (`ClientProcess`): connections per backend
/// once established and after a probe, the final report on `stop`. The JSON is the protocol
/// between the two processes: `event` and `per_backend`, or the report's fields beside `event`.
public enum LabClientEvent: Sendable, Equatable {
    case established(perBackend: [String: Int])
    case probe(perBackend: [String: Int])
    /// Connections per backend still answering (`alive`).
    case alive(perBackend: [String: Int])
    case result(TrafficClient.Report)
}

extension LabClientEvent: Codable {
    enum CodingKeys: String, CodingKey {
        case event
        case perBackend = "per_backend"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let event = try container.decode(String.self, forKey: .event)
        switch event {
        case "established":
            self = .established(perBackend: try container.decode([String: Int].self, forKey: .perBackend))
        case "probe":
            self = .probe(perBackend: try container.decode([String: Int].self, forKey: .perBackend))
        case "alive":
            self = .alive(perBackend: try container.decode([String: Int].self, forKey: .perBackend))
        case "result": self = .result(try TrafficClient.Report(from: decoder))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .event, in: container,
                debugDescription: "unknown lab-client event '\(event)'; expected established, probe, alive or result")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .established(let perBackend):
            try container.encode("established", forKey: .event)
            try container.encode(perBackend, forKey: .perBackend)
        case .probe(let perBackend):
            try container.encode("probe", forKey: .event)
            try container.encode(perBackend, forKey: .perBackend)
        case .alive(let perBackend):
            try container.encode("alive", forKey: .event)
            try container.encode(perBackend, forKey: .perBackend)
        case .result(let report):
            try container.encode("result", forKey: .event)
            try report.encode(to: encoder)
        }
    }

    /// Connections per backend, for the events that carry them.
    var perBackend: [String: Int]? {
        switch self {
        case .established(let perBackend), .probe(let perBackend), .alive(let perBackend): perBackend
        case .result: nil
        }
    }
}
