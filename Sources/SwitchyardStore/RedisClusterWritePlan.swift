import SwitchyardCore

/// One round of a batch of writes against a cluster, decided without I/O: which commands go to
/// which primary (by the slot of the key or channel they name), and, once the nodes replied,
/// what became of each write.
///
/// A put is SET on its key's owner and, when announced, SPUBLISH on its channel's owner — one
/// node but for a part whose channel lies in another shard than the key. A write's outcome is
/// the first error among its commands' replies, wherever they went.
struct RedisClusterWritePlan {
    /// A command and whose it is: write `write`'s `order`-th command.
    struct Command: Sendable, Equatable {
        var write: Int
        var order: Int
        var arguments: [String]
        /// Preceded by ASKING (the slot is being imported by this node).
        var asking: Bool
    }

    /// Per node, its commands in order.
    private(set) var nodes: [HostPort: [Command]] = [:]
    /// Writes one of whose slots no primary serves: they wait for the cluster.
    private(set) var unserved: [Int] = []

    /// Where a write's last reply sent one of its slots: the node a MOVED named (which the
    /// topology may not show yet), or an ASK's (then preceded by ASKING, this once).
    struct Redirect: Equatable {
        var slot: Int
        var node: HostPort
        var asking: Bool
    }

    /// What to send for `writes` (indices into the caller's batch), and where: by the topology,
    /// but for a slot the write's `redirects` entry names.
    init(
        writes: [(index: Int, write: FlowStoreWrite)], topology: RedisClusterTopology,
        channels: RedisClusterChannels, redirects: [Int: Redirect] = [:]
    ) {
        for (index, write) in writes {
            var commands: [(arguments: [String], slot: Int)] = []
            switch write {
            case .put(let record, let seconds, let announce):
                let key = record.storeKey
                commands.append((["SET", key, record.backend, "EX", "\(seconds)"], RedisClusterSlot.of(key)))
                if announce {
                    let channel = channels.channel(forKey: key)
                    commands.append((["SPUBLISH", channel.name, record.message], channel.slot))
                }
            case .delete(let record):
                commands.append((["DEL", record.storeKey], RedisClusterSlot.of(record.storeKey)))
            }
            var routed: [(HostPort, Command)] = []
            for (order, command) in commands.enumerated() {
                let redirect = redirects[index].flatMap { $0.slot == command.slot ? $0 : nil }
                guard let node = redirect?.node ?? topology.primary(forSlot: command.slot) else { break }
                let asking = redirect?.asking ?? false
                routed.append((node, Command(write: index, order: order, arguments: command.arguments, asking: asking)))
            }
            guard routed.count == commands.count else {
                unserved.append(index)
                continue
            }
            for (node, command) in routed { nodes[node, default: []].append(command) }
        }
    }

    /// The wire commands for `node`: each command, after ASKING where it must.
    static func wire(_ commands: [Command]) -> [[String]] {
        commands.flatMap { $0.asking ? [["ASKING"], $0.arguments] : [$0.arguments] }
    }

    /// Per command, its reply (ASKING's own reply dropped); short replies count as lost.
    static func replies(_ commands: [Command], wire replies: [RESPValue], node: HostPort) -> [RESPValue] {
        var out: [RESPValue] = []
        var next = replies.startIndex
        for command in commands {
            if command.asking { next += 1 }
            out.append(next < replies.endIndex ? replies[next] : .error("CLUSTERDOWN no reply from \(node)"))
            next += 1
        }
        return out
    }

    /// What became of one write.
    enum Outcome: Equatable {
        case written
        /// Send again later (TRYAGAIN, LOADING, CLUSTERDOWN, a node not reached).
        case retryLater(RedisError)
        /// `slot` has a new owner, `node`: refresh the topology, send again.
        case moved(RedisError, slot: Int, node: HostPort)
        /// The slot is migrating: send once more to `node`, after ASKING.
        case ask(RedisError, slot: Int, node: HostPort)
        case refused(RedisError)
        /// The connection is not authenticated: nothing on it is applied.
        case authenticate(RedisError)
    }

    /// A write's outcome from its commands' replies in order, each with the node it came from.
    static func outcome(_ replies: [(reply: RESPValue, node: HostPort)]) -> Outcome {
        guard let (error, node) = replies.lazy.compactMap({ r in r.reply.redisError.map { ($0, r.node) } }).first
        else { return .written }
        switch error.handling {
        case .authenticate: return .authenticate(error)
        case .refuse: return .refused(error)
        case .retryLater: return .retryLater(error)
        case .redirect:
            guard let redirect = error.redirect else { return .retryLater(error) }
            let target = redirect.address(from: node)
            if error.kind == .ask { return .ask(error, slot: redirect.slot, node: target) }
            return .moved(error, slot: redirect.slot, node: target)
        }
    }
}

extension RedisError {
    /// A node that could not be reached, as a reply of the kind the caller retries later.
    static func unreachable(_ node: HostPort, _ error: any Error) -> RedisError {
        RedisError(reply: "CLUSTERDOWN \(node) could not be reached: \(error)")
    }
}
