import NIOCore
import SwitchyardCore

/// A primary whose failover Redis Sentinel manages, found by asking the sentinels in turn: the
/// first that names it wins, once `ROLE` on that address confirms it is a primary (a sentinel
/// that has not yet seen a failover must not send writes to what is now a replica).
///
/// Sentinels' own authentication: a sentinel is asked without credentials first; if it answers
/// NOAUTH, again with the store's (a sentinel `requirepass`/`user` equal to the data nodes').
/// Sentinels with credentials of their own are not supported. TLS is the store's, for sentinels
/// too (`tls-port` on the sentinels, certificates from the same authority).
public struct RedisSentinel: Sendable, Hashable, CustomStringConvertible {
    public let sentinels: [HostPort]
    public let masterName: String
    public let options: RedisConnectionOptions

    public init(sentinels: [HostPort], masterName: String, options: RedisConnectionOptions = RedisConnectionOptions()) {
        self.sentinels = sentinels
        self.masterName = masterName
        self.options = options
    }

    public var description: String {
        "\(masterName) via sentinels \(sentinels.map(\.description).joined(separator: ","))"
    }

    /// The primary now. Throws `RedisSentinelError.noPrimary` with every sentinel's answer when
    /// none names a server that confirms it is the primary.
    public func primary() async throws -> HostPort {
        var answers: [String] = []
        for sentinel in sentinels {
            do {
                let reply = try await ask(sentinel, ["SENTINEL", "get-master-addr-by-name", masterName])
                if let error = reply.redisError { throw error }
                switch RedisSentinelMessages.primaryAnswer(reply) {
                case .primary(let address):
                    let role = try await RedisClient.withClient(to: address, options: options) { client in
                        try await client.send([["ROLE"]])[0]
                    }
                    if let error = role.redisError { throw error }
                    if RedisSentinelMessages.role(role) == .primary { return address }
                    let said = "\(role)".prefix(40)
                    answers.append("\(sentinel) named \(address), which is not a primary (ROLE: \(said))")
                case .unknownName:
                    answers.append("\(sentinel) does not monitor \(masterName)")
                case nil:
                    throw RedisClientError.unexpectedReply(
                        command: "SENTINEL get-master-addr-by-name", reply: "\(reply)")
                }
            } catch {
                answers.append("\(sentinel): \(error)")
            }
        }
        throw RedisSentinelError.noPrimary(masterName: masterName, answers: answers)
    }

    /// Subscribes to `+switch-master` on the first sentinel that takes the subscription; calls
    /// `watching` with that sentinel and its connection once it confirmed, then `switched` for
    /// every failover of this name, until the subscription ends (returns) or fails (throws).
    func watch(
        watching: @Sendable (HostPort, any Channel) -> Void, switched: @Sendable (RedisSentinelSwitch) -> Void
    ) async throws {
        var answers: [String] = []
        for sentinel in sentinels {
            var confirmed = false
            do {
                try await subscribe(sentinel) { subscription in
                    confirmed = true
                    watching(sentinel, subscription.channel)
                    for try await batch in subscription {
                        for message in batch where message.channel == RedisSentinelSwitch.channel {
                            guard let change = RedisSentinelSwitch(message: message.message),
                                change.masterName == masterName
                            else { continue }
                            switched(change)
                        }
                    }
                }
                return
            } catch {
                // Once watching, an end is the caller's to handle: it may have missed a switch.
                if confirmed { throw error }
                answers.append("\(sentinel): \(error)")
            }
        }
        throw RedisSentinelError.noWatch(masterName: masterName, answers: answers)
    }

    /// Without credentials; with the store's if the sentinel wants some.
    private var anonymous: RedisConnectionOptions {
        var options = options
        options.credentials = nil
        return options
    }

    private func ask(_ sentinel: HostPort, _ command: [String]) async throws -> RESPValue {
        let reply = try await RedisClient.withClient(to: sentinel, options: anonymous) {
            try await $0.send([command])[0]
        }
        guard reply.redisError?.kind == .noAuth, options.credentials != nil else { return reply }
        return try await RedisClient.withClient(to: sentinel, options: options) { try await $0.send([command])[0] }
    }

    private func subscribe(_ sentinel: HostPort, _ body: (RedisSubscription) async throws -> Void) async throws {
        let channels = [RedisSentinelSwitch.channel]
        do {
            try await RedisClient.subscribe(to: sentinel, options: anonymous, channels: channels) { try await body($0) }
        } catch let error as RedisError where error.kind == .noAuth && options.credentials != nil {
            try await RedisClient.subscribe(to: sentinel, options: options, channels: channels) { try await body($0) }
        }
    }
}

/// Why a Sentinel-managed store cannot go on, and what to look at.
public enum RedisSentinelError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No sentinel named a primary that confirmed it: each sentinel's answer, in order.
    case noPrimary(masterName: String, answers: [String])
    /// No sentinel took the `+switch-master` subscription.
    case noWatch(masterName: String, answers: [String])
    /// The watched sentinel's subscription ended: failovers would go unnoticed, so the store's
    /// announcements end too (the caller subscribes again, to any sentinel that answers).
    case watchLost(masterName: String, sentinel: String)
    /// A failover: the announcements of the old primary end; subscribe again.
    case primarySwitched(RedisSentinelSwitch)
    /// The settings name no sentinel or no master name.
    case incompleteSettings(String)

    public var description: String {
        switch self {
        case .noPrimary(let name, let answers):
            "no sentinel named a primary for \(name) that confirms it: \(answers.joined(separator: "; "))"
        case .noWatch(let name, let answers):
            "no sentinel took the +switch-master subscription for \(name): \(answers.joined(separator: "; "))"
        case .watchLost(let name, let sentinel):
            "the +switch-master subscription for \(name) on \(sentinel) ended; subscribing again"
        case .primarySwitched(let change): "failover: \(change); following the new primary"
        case .incompleteSettings(let what): "flowStore type redis-sentinel: \(what)"
        }
    }
}
