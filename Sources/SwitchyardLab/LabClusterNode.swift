import Foundation

/// One line of `CLUSTER NODES`, as the lab reads it to find primaries, their replicas and who
/// holds which slots. Pure: parsed from the text a node answers.
///
///     <id> <ip:port@cport[,hostname]> <flags> <primary id or -> <ping> <pong> <epoch> <link> <slot>…
struct LabClusterNode: Sendable, Hashable {
    var id: String
    var host: String
    var port: Int
    var flags: Set<String>
    /// The primary this node replicates (nil for a primary).
    var primaryID: String?
    var connected: Bool
    /// Slots served (migration markers `[slot->-id]` are left out).
    var slotCount: Int

    var isPrimary: Bool { flags.contains("master") }
    /// Flagged failed (`fail`) or suspected (`fail?`) by the node that answered.
    var failing: Bool { flags.contains("fail") || flags.contains("fail?") }
    var address: String { "\(host):\(port)" }

    init?(line: Substring) {
        let fields = line.split(separator: " ")
        guard fields.count >= 8 else { return nil }
        id = String(fields[0])
        // ip:port@cport[,hostname]
        let endpoint = fields[1].split(separator: "@").first ?? ""
        guard let colon = endpoint.lastIndex(of: ":"), let port = Int(endpoint[endpoint.index(after: colon)...])
        else { return nil }
        host = String(endpoint[..<colon])
        self.port = port
        flags = Set(fields[2].split(separator: ",").map(String.init))
        primaryID = fields[3] == "-" ? nil : String(fields[3])
        connected = fields[7] == "connected"
        var slots = 0
        for range in fields.dropFirst(8) where !range.hasPrefix("[") {
            let bounds = range.split(separator: "-").compactMap { Int($0) }
            if bounds.count == 2, bounds[1] >= bounds[0] {
                slots += bounds[1] - bounds[0] + 1
            } else if bounds.count == 1 {
                slots += 1
            }
        }
        slotCount = slots
    }

    /// Every node in a `CLUSTER NODES` answer; lines that do not parse are skipped.
    static func parse(_ text: String) -> [LabClusterNode] {
        text.split(whereSeparator: \.isNewline).compactMap { LabClusterNode(line: $0) }
    }
}

/// `INFO` or `CLUSTER INFO` text as field → value (`cluster_state:ok`).
enum RedisInfoText {
    static func fields(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            result[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return result
    }
}
