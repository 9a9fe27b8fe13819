import SwitchyardCore

/// What a Redis error reply is about, from its first word (the error code, by Redis convention
/// upper case: https://redis.io/docs/latest/develop/reference/protocol-spec/#simple-errors).
/// The raw values are stable: the agent uses them as status keys and Prometheus labels.
public enum RedisErrorKind: String, Sendable, Hashable, Codable, CodingKeyRepresentable, CaseIterable,
    CustomStringConvertible
{
    /// The key's slot is served by another cluster node, for good: send there, update the map.
    case moved
    /// The key's slot is migrating: send this one command there, after ASKING.
    case ask
    /// A multi-key command during resharding: send again later.
    case tryAgain = "tryagain"
    /// The server is loading its dataset into memory: send again later.
    case loading
    /// The cluster cannot serve the slot now (no primary for it, or the node has lost the
    /// cluster), or the node holding it cannot be reached: send again later, after a refresh.
    case clusterDown = "clusterdown"
    /// Over `maxmemory` with a policy that does not evict: the write is refused.
    case outOfMemory = "oom"
    /// The connection has not authenticated and the server wants it to.
    case noAuth = "noauth"
    /// AUTH named an unknown user or a wrong password.
    case wrongPass = "wrongpass"
    /// The ACL user may not run the command, touch the key or the channel.
    case noPermission = "noperm"
    /// The server is a replica (a failover made it one): send again later, once the client
    /// has found the primary again.
    case readOnly = "readonly"
    /// Any other error (syntax, wrong type, ...): refused; the message says why.
    case other

    /// What the sender must do about a reply of this kind.
    public enum Handling: Sendable, Hashable {
        /// Send the same command to the same node again, after a pause.
        case retryLater
        /// Send the same command to the node the error names.
        case redirect
        /// The server will not take it: count it and drop it.
        case refuse
        /// The connection's credentials are missing or wrong: nothing on it will succeed
        /// until it authenticates (fix the settings, reconnect).
        case authenticate
    }

    public var handling: Handling {
        switch self {
        case .moved, .ask: .redirect
        case .tryAgain, .loading, .clusterDown, .readOnly: .retryLater
        case .outOfMemory, .noPermission, .other: .refuse
        case .noAuth, .wrongPass: .authenticate
        }
    }

    /// The error code Redis starts the reply with.
    init(code: Substring) {
        switch code.uppercased() {
        case "MOVED": self = .moved
        case "ASK": self = .ask
        case "TRYAGAIN": self = .tryAgain
        case "LOADING": self = .loading
        case "CLUSTERDOWN": self = .clusterDown
        case "OOM": self = .outOfMemory
        case "NOAUTH": self = .noAuth
        case "WRONGPASS": self = .wrongPass
        case "NOPERM": self = .noPermission
        case "READONLY": self = .readOnly
        default: self = .other
        }
    }

    public var description: String { rawValue }
}

/// An error reply from a Redis server, classified: what kind, the server's words, and for MOVED
/// and ASK where to send the command instead.
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    public let kind: RedisErrorKind
    /// The reply as the server wrote it (without the leading `-`).
    public let message: String
    /// MOVED and ASK: the slot and the node serving it. Nil for other kinds, and for a
    /// redirect whose text does not parse (then retry later on the same node).
    public let redirect: RedisRedirect?

    public init(reply message: String) {
        let words = message.split(separator: " ", omittingEmptySubsequences: true)
        let kind = RedisErrorKind(code: words.first ?? "")
        self.kind = kind
        self.message = message
        self.redirect = kind == .moved || kind == .ask ? RedisRedirect(words.dropFirst()) : nil
    }

    public var handling: RedisErrorKind.Handling { kind.handling }

    public var description: String { "Redis replied \(message)" }
}

extension RESPValue {
    /// The error reply as a typed error, nil for any other value.
    public var redisError: RedisError? {
        if case .error(let message) = self { RedisError(reply: message) } else { nil }
    }
}

/// Where a MOVED or ASK reply sends a command: `MOVED <slot> <endpoint>:<port>` (Redis cluster
/// specification, "Redirection and resharding"). Redis writes an IPv6 endpoint without
/// brackets, so the port is what follows the last colon; an empty endpoint means "the host
/// this command went to, on this port".
public struct RedisRedirect: Sendable, Hashable {
    /// Keys hash to this many slots (cluster specification, "Key distribution model").
    public static let slotCount = 16384

    public enum Target: Sendable, Hashable {
        case node(HostPort)
        case sameHost(port: UInt16)
    }

    public let slot: Int
    public let target: Target

    public init(slot: Int, target: Target) {
        self.slot = slot
        self.target = target
    }

    /// From the words after the error code: the slot and the endpoint.
    init?(_ words: ArraySlice<Substring>) {
        guard words.count == 2, let first = words.first, let last = words.last,
            let slot = Int(first), (0..<Self.slotCount).contains(slot),
            let colon = last.lastIndex(of: ":"),
            let port = Int(last[last.index(after: colon)...])
        else { return nil }
        let host = String(last[..<colon])
        if host.isEmpty {
            guard let port = UInt16(exactly: port), port != 0 else { return nil }
            self.init(slot: slot, target: .sameHost(port: port))
        } else {
            guard let address = try? HostPort(host: host, port: port) else { return nil }
            self.init(slot: slot, target: .node(address))
        }
    }

    /// The node to send to, given the one that replied.
    public func address(from current: HostPort) -> HostPort {
        switch target {
        case .node(let address): address
        case .sameHost(let port): (try? HostPort(host: current.host.description, port: Int(port))) ?? current
        }
    }
}

/// The client's own failures, as opposed to the server's error replies (`RedisError`).
public enum RedisClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The connection ended while a reply was awaited: the command may or may not have run.
    case connectionLost(HostPort)
    /// No reply within the reply timeout: the connection was closed as dead (the command may or
    /// may not have run).
    case replyTimeout(HostPort, Duration)
    /// The client was closed (or its `run()` ended): make a new one.
    case closed(HostPort)
    /// `run()` was called twice: one task owns the connection.
    case alreadyRunning(HostPort)
    /// A reply of a shape the command does not have: a server that is not Redis, or a bug.
    case unexpectedReply(command: String, reply: String)

    public var description: String {
        switch self {
        case .connectionLost(let address): "connection to Redis at \(address) lost before the reply"
        case .replyTimeout(let address, let timeout):
            "no reply from Redis at \(address) within \(timeout); connection closed as dead"
        case .closed(let address): "Redis client for \(address) is closed"
        case .alreadyRunning(let address): "Redis client for \(address) is already running"
        case .unexpectedReply(let command, let reply): "unexpected reply to \(command): \(reply.prefix(80))"
        }
    }
}
