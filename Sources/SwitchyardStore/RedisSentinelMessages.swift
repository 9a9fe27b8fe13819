import SwitchyardCore

/// What Sentinel and the servers it watches tell a client about where the primary is: the
/// reply to `SENTINEL get-master-addr-by-name`, the reply to `ROLE`, and the `+switch-master`
/// event (https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/). All three
/// are outside input: they parse to a value or to nil/an error, and never trap.
public enum RedisSentinelMessages {
    /// The answer to `SENTINEL get-master-addr-by-name <name>`.
    public enum PrimaryAnswer: Sendable, Hashable {
        /// The sentinel monitors the name and believes this is the primary.
        case primary(HostPort)
        /// The sentinel does not monitor the name (a null reply).
        case unknownName
    }

    /// `*2 $host $port` is an address; a null array or bulk string is an unknown name. Anything
    /// else (an error reply, another shape, a port out of range) is nil.
    public static func primaryAnswer(_ reply: RESPValue) -> PrimaryAnswer? {
        switch reply {
        case .array(nil), .bulk(nil): return .unknownName
        case .array(let items?):
            guard items.count == 2, let host = items[0].bulkText, let portText = items[1].bulkText,
                let port = Int(portText), let address = try? HostPort(host: host, port: port)
            else { return nil }
            return .primary(address)
        default: return nil
        }
    }

    /// What a server says it is, from the first element of its `ROLE` reply.
    public enum Role: Sendable, Hashable {
        case primary
        case replica
        case sentinel
    }

    /// `ROLE` answers an array whose first element is "master", "slave" or "sentinel"; nil for
    /// anything else.
    public static func role(_ reply: RESPValue) -> Role? {
        guard case .array(let items?) = reply, let first = items.first?.bulkText else { return nil }
        switch first {
        case "master": return .primary
        case "slave": return .replica
        case "sentinel": return .sentinel
        default: return nil
        }
    }
}

/// The `+switch-master` event a sentinel publishes once a failover has made a replica the
/// primary: `<master name> <old ip> <old port> <new ip> <new port>`.
public struct RedisSentinelSwitch: Sendable, Hashable, CustomStringConvertible {
    /// The channel sentinels publish it on.
    public static let channel = "+switch-master"

    public let masterName: String
    public let from: HostPort
    public let to: HostPort

    public init(masterName: String, from: HostPort, to: HostPort) {
        self.masterName = masterName
        self.from = from
        self.to = to
    }

    /// Nil unless the message is exactly five words with two valid addresses.
    public init?(message: String) {
        let words = message.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 5, let oldPort = Int(words[2]), let newPort = Int(words[4]),
            let from = try? HostPort(host: String(words[1]), port: oldPort),
            let to = try? HostPort(host: String(words[3]), port: newPort)
        else { return nil }
        self.init(masterName: String(words[0]), from: from, to: to)
    }

    /// The message as a sentinel writes it.
    public var message: String {
        "\(masterName) \(from.host) \(from.port) \(to.host) \(to.port)"
    }

    public var description: String { "primary \(masterName) moved from \(from) to \(to)" }
}

extension RESPValue {
    /// The text of a bulk string; nil for every other value (Sentinel answers in bulk strings).
    var bulkText: String? {
        if case .bulk(let bytes?) = self { String(decoding: bytes, as: UTF8.self) } else { nil }
    }
}
