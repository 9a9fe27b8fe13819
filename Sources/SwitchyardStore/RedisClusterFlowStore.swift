import NIOCore
import SwitchyardCore
import Synchronization

/// The flow store on a Redis Cluster: one key per flow (`sy:f:...`, no hash tags, no cross-slot
/// commands), so the entries spread over every shard by the keys' own slots.
///
/// Writes: a batch is split by the primary owning each command's slot (the topology learnt with
/// `CLUSTER SLOTS` from any seed or known node) and goes out as one pipeline per primary, the
/// primaries in parallel, on long-lived connections `run()` owns (opened lazily, one per
/// primary). MOVED refreshes the topology once per round and sends those writes again, ASK sends
/// ASKING and the write to the importing node, both within the same call for a bounded number
/// of rounds; TRYAGAIN, LOADING, CLUSTERDOWN and a primary that cannot be reached come back as
/// retries (the caller backs off), while the other shards' writes land: one dead shard does not
/// stall the rest. `write` throws only when no node was reached at all, or on authentication.
///
/// Announcements: sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7.0), on `RedisClusterChannels`'
/// channels, one per part of the slot space, so a flow's announcement usually goes to the
/// primary taking its SET, in the same pipeline. Not PUBLISH: in a cluster a PUBLISH is relayed
/// over the cluster bus to every node, so every message would reach every node whatever the
/// subscriptions, a cost that grows with the cluster. A sharded message stays in its shard.
/// `follow` subscribes on every primary owning a channel, one connection each, merged into one
/// stream; it ends when any of them drops or the server unsubscribes a channel (its slot moved,
/// its primary was demoted), so the caller resubscribes from a fresh topology.
///
/// Every connection takes `options` (credentials, timeout, TLS) from one value.
public final class RedisClusterFlowStore: FlowStore {
    /// The ACL rules that let a user do all the cluster store does and nothing else, set on
    /// every node (ACLs are per node): the topology (`CLUSTER SLOTS`), ASKING, the flow keys'
    /// SET/GET/DEL/SCAN, INFO (used memory), sharded pub/sub on the flow channels. As one line:
    ///
    ///     ACL SETUSER switchyard on >PASSWORD resetkeys resetchannels ~sy:f:* &sy:flows:* -@all
    ///         +cluster|slots +asking +set +get +del +scan +info +spublish +ssubscribe
    public static let minimalACL = [
        "resetkeys", "resetchannels", "~\(FlowRecord.keyPattern)", "&\(FlowRecord.channel):*", "-@all",
        "+cluster|slots", "+asking", "+set", "+get", "+del", "+scan", "+info", "+spublish", "+ssubscribe",
    ]

    public let settings: FlowStoreSettings
    /// Where the topology is learnt first; later, every node it names is asked too.
    public let seeds: [HostPort]
    public let channels: RedisClusterChannels
    let options: RedisConnectionOptions
    /// How many times one `write` sends writes a MOVED or ASK redirected.
    static let redirectRounds = 3

    struct State {
        var closed = false
        var topology: RedisClusterTopology?
        /// A node was not reached or a slot was not served: ask for the topology again.
        var stale = true
        /// Nodes that were not reached lately: asked for the topology last, so a dead node
        /// does not cost every refresh a connect timeout.
        var suspects: Set<HostPort> = []
        /// How many topologies were adopted (tests check a batch refreshes once, not per key).
        var refreshes = 0
        var clients: [HostPort: RedisClient] = [:]
        /// Open subscriptions, ended by `close()`.
        var subscriptions: [ObjectIdentifier: any Channel] = [:]
    }

    let state = Mutex(State())
    /// Clients for `run()` to serve, as writes create them.
    private let newClients: AsyncStream<RedisClient>.Continuation
    private let clientQueue: Mutex<AsyncStream<RedisClient>?>

    public var description: String { "redis-cluster \(seeds.map(\.description).joined(separator: ","))" }
    public var shared: Bool { true }

    /// Throws when the settings name no seed, or their TLS files are unusable.
    public init(settings: FlowStoreSettings, channels: RedisClusterChannels = RedisClusterChannels()) throws {
        guard !settings.seeds.isEmpty else { throw RedisClusterError.noSeeds }
        self.settings = settings
        seeds = settings.seeds
        self.channels = channels
        options = try RedisConnectionOptions(settings: settings)
        let (stream, continuation) = AsyncStream<RedisClient>.makeStream()
        newClients = continuation
        clientQueue = Mutex(stream)
    }

    /// Serves every primary's connection until `close()` or cancellation.
    public func run() async throws {
        guard let stream = clientQueue.withLock({ $0.take() }) else { throw RedisClientError.alreadyRunning(seeds[0]) }
        await withDiscardingTaskGroup { group in
            for await client in stream {
                group.addTask { try? await client.run() }
            }
        }
    }

    /// The long-lived client for `node`, created (and handed to `run()`) on first use.
    private func client(_ node: HostPort) throws(RedisClientError) -> RedisClient {
        let client: RedisClient? = state.withLock { state in
            if state.closed { return nil }
            if let client = state.clients[node] { return client }
            let client = RedisClient(address: node, options: options)
            state.clients[node] = client
            newClients.yield(client)
            return client
        }
        guard let client else { throw .closed(node) }
        return client
    }

    // MARK: Topology

    /// The topology, asked for again when `refresh` or when the last one is stale: every known
    /// node, then the seeds, until one answers. Clients of nodes that are no longer primaries are
    /// closed. Throws an authentication failure at once (no node will take these credentials).
    func topology(refresh: Bool) async throws -> RedisClusterTopology {
        let known = state.withLock { state in (state.topology, state.stale, state.suspects) }
        if !refresh, !known.1, let topology = known.0 { return topology }
        var seen: Set<HostPort> = []
        let all = ((known.0?.nodes ?? []) + seeds).filter { seen.insert($0).inserted }
        let candidates = all.filter { !known.2.contains($0) } + all.filter { known.2.contains($0) }
        var failures: [String] = []
        for node in candidates {
            do {
                let reply = try await RedisClient.withClient(to: node, options: options) { client in
                    try await client.send([["CLUSTER", "SLOTS"]])[0]
                }
                if let error = reply.redisError {
                    if error.handling == .authenticate { throw error }
                    failures.append("\(node): \(error.message.prefix(80))")
                    continue
                }
                let topology = try RedisClusterTopology.parse(slotsReply: reply, from: node)
                guard !topology.ranges.isEmpty else {
                    failures.append("\(node): serves no slots yet")
                    continue
                }
                adopt(topology)
                _ = state.withLock { $0.suspects.remove(node) }
                return topology
            } catch let error as RedisError where error.handling == .authenticate {
                throw error
            } catch {
                failures.append("\(node): \(error)")
                suspect(node)
            }
        }
        throw RedisClusterError.noNodeReachable(failures)
    }

    private func adopt(_ topology: RedisClusterTopology) {
        let primaries = Set(topology.primaries)
        let retired = state.withLock { state in
            state.topology = topology
            state.stale = !topology.unservedSlots.isEmpty
            state.refreshes += 1
            let retired = state.clients.filter { !primaries.contains($0.key) }
            for node in retired.keys { state.clients[node] = nil }
            return retired.values
        }
        for client in retired { client.close() }
    }

    var topologyRefreshes: Int { state.withLock { $0.refreshes } }

    func markStale() { state.withLock { $0.stale = true } }

    private func suspect(_ node: HostPort) { _ = state.withLock { $0.suspects.insert(node) } }

    func checkOpen() throws(RedisClientError) {
        if state.withLock({ $0.closed }) { throw .closed(seeds[0]) }
    }

    // MARK: Writes

    public func write(_ writes: [FlowStoreWrite]) async throws -> FlowStoreWriteResult {
        guard !writes.isEmpty else { return FlowStoreWriteResult() }
        try checkOpen()
        typealias Plan = RedisClusterWritePlan
        var pending = writes.enumerated().map { (index: $0.offset, write: $0.element) }
        var outcomes: [Int: Plan.Outcome] = [:]
        var redirects: [Int: Plan.Redirect] = [:]
        var refresh = false
        var reached = false
        var unreachable: (any Error)?
        for round in 0..<Self.redirectRounds where !pending.isEmpty {
            let topology: RedisClusterTopology
            do {
                topology = try await self.topology(refresh: refresh)
            } catch _ where round > 0 {
                break // Some writes went out: report them; the redirected ones are retries.
            }
            let plan = Plan(writes: pending, topology: topology, channels: channels, redirects: redirects)
            refresh = false
            redirects = [:]
            for index in plan.unserved {
                outcomes[index] = .retryLater(RedisError(reply: "CLUSTERDOWN Hash slot not served"))
            }
            if !plan.unserved.isEmpty { markStale() }
            var replies: [Int: [(order: Int, reply: RESPValue, node: HostPort)]] = [:]
            for (node, commands, sent) in await send(plan) {
                let values: [RESPValue]
                switch sent {
                case .success(let wire):
                    reached = true
                    _ = state.withLock { $0.suspects.remove(node) }
                    values = Plan.replies(commands, wire: wire, node: node)
                case .failure(let error):
                    if let error = error as? RedisError, error.handling == .authenticate { throw error }
                    unreachable = unreachable ?? error
                    markStale()
                    suspect(node)
                    values = commands.map { _ in .error(RedisError.unreachable(node, error).message) }
                }
                for (command, value) in zip(commands, values) {
                    replies[command.write, default: []].append((command.order, value, node))
                }
            }
            var next: [(index: Int, write: FlowStoreWrite)] = []
            let unserved = Set(plan.unserved)
            for (index, write) in pending where !unserved.contains(index) {
                let ordered = (replies[index] ?? []).sorted { $0.order < $1.order }.map { ($0.reply, $0.node) }
                let outcome = Plan.outcome(ordered)
                outcomes[index] = outcome
                switch outcome {
                case .authenticate(let error): throw error
                case .moved(_, let slot, let node):
                    refresh = true
                    redirects[index] = Plan.Redirect(slot: slot, node: node, asking: false)
                    next.append((index, write))
                case .ask(_, let slot, let node):
                    redirects[index] = Plan.Redirect(slot: slot, node: node, asking: true)
                    next.append((index, write))
                case .written, .retryLater, .refused: break
                }
            }
            pending = next
        }
        if !reached, let unreachable { throw unreachable }
        if refresh { markStale() }
        return Self.result(writes, outcomes)
    }

    /// Each node's commands, sent concurrently; per node its replies or why it failed.
    private func send(
        _ plan: RedisClusterWritePlan
    ) async -> [(HostPort, [RedisClusterWritePlan.Command], Result<[RESPValue], any Error>)] {
        await withTaskGroup(
            of: (HostPort, [RedisClusterWritePlan.Command], Result<[RESPValue], any Error>).self
        ) { group in
            for (node, commands) in plan.nodes {
                group.addTask {
                    do {
                        let client = try self.client(node)
                        return (node, commands, .success(try await client.send(RedisClusterWritePlan.wire(commands))))
                    } catch {
                        return (node, commands, .failure(error))
                    }
                }
            }
            var all: [(HostPort, [RedisClusterWritePlan.Command], Result<[RESPValue], any Error>)] = []
            for await sent in group { all.append(sent) }
            return all
        }
    }

    /// The outcomes in the caller's write order. A write still redirected after the last round
    /// is a retry aimed at the node the redirect names.
    static func result(_ writes: [FlowStoreWrite], _ outcomes: [Int: RedisClusterWritePlan.Outcome])
        -> FlowStoreWriteResult
    {
        var result = FlowStoreWriteResult()
        for (index, write) in writes.enumerated() {
            switch outcomes[index] {
            case .written: result.written += 1
            case .retryLater(let error), .authenticate(let error):
                result.retry.append(FlowStoreRetry(write: write, error: error, target: nil))
            case .moved(let error, _, let node), .ask(let error, _, let node):
                result.retry.append(FlowStoreRetry(write: write, error: error, target: node))
            case .refused(let error):
                result.refused[error.kind, default: 0] += 1
                if result.firstRefusal == nil { result.firstRefusal = error }
            case nil:
                let error = RedisError(reply: "CLUSTERDOWN no reply")
                result.retry.append(FlowStoreRetry(write: write, error: error, target: nil))
            }
        }
        return result
    }

    /// Ends `run()` (after the writes already queued) and every subscription.
    public func close() {
        let (clients, subscriptions) = state.withLock { state in
            state.closed = true
            return (Array(state.clients.values), Array(state.subscriptions.values))
        }
        for channel in subscriptions { channel.close(promise: nil) }
        for client in clients { client.close() }
        newClients.finish()
    }
}
