import Foundation
import SwitchyardCore
import Testing

@testable import SwitchyardStore

private func record(_ i: Int, backend: String = "10.0.0.1:80") -> FlowRecord {
    FlowRecord(
        service: "10.1.0.1:80/tcp",
        flow: FlowKey(
            source: .v4(IPv4Address(UInt32(0x0a00_0000 + i))), destination: .v4(IPv4Address(10, 1, 0, 1)),
            sourcePort: UInt16(1000 + i % 60000), destinationPort: 80, proto: 6),
        backend: backend, origin: "lb1")
}

private func put(_ i: Int, announce: Bool = false) -> FlowStoreWrite {
    .put(record(i), seconds: 60, announce: announce)
}

/// The first record after `from` whose key hashes to `slot`'s owner, or to `slot` itself.
private func record(from start: Int = 0, where match: (Int) -> Bool) -> Int {
    var i = start
    while !match(RedisClusterSlot.of(record(i).storeKey)) { i += 1 }
    return i
}

/// Runs `body` with `store` running in a task group, as its owner would; closes it after.
private func running<T: Sendable>(_ store: RedisClusterFlowStore, _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await store.run() }
        defer { store.close() }
        return try await body()
    }
}

/// Writes until every write is applied (a failover or a refresh in progress answers retries).
private func writeUntilApplied(
    _ store: RedisClusterFlowStore, _ writes: [FlowStoreWrite], timeout: Duration = .seconds(15)
) async throws -> FlowStoreWriteResult {
    let deadline = ContinuousClock.now + timeout
    var last = ""
    while ContinuousClock.now < deadline {
        do {
            let result = try await store.write(writes)
            if result.written == writes.count { return result }
            last = "\(result.retry.first?.error.message ?? "") refused \(result.refused)"
        } catch {
            last = "\(error)"
        }
        try await Task.sleep(for: .milliseconds(200))
    }
    throw FixtureError("writes not applied in \(timeout): \(last)")
}

@Suite(
    .enabled(
        if: RedisClusterFixture.available,
        "skipped: redis-server or redis-cli is not installed (scripts/install-deps.sh installs them)"),
    .serialized)
struct RedisClusterFlowStoreTests {
    /// The README's line: the store works with exactly these rules.
    static let minimalACL = RedisClusterFlowStore.minimalACL

    static func settings(_ cluster: RedisClusterFixture, seeds: Int = 1) -> FlowStoreSettings {
        FlowStoreSettings(kind: .redisCluster, seeds: Array(cluster.addresses.prefix(seeds)))
    }

    /// Writes land on the primary owning each key's slot (as the server itself reports the
    /// slot), the snapshot reads every primary, and a follower hears announcements on all 64
    /// channels, from another store instance.
    @Test func writesLandOnTheirPrimariesAndFollowersHearThem() async throws {
        let cluster = try await RedisClusterFixture(primaries: 3, replicas: 0)
        defer { cluster.stop() }
        let topology = try await cluster.topology(from: cluster.addresses[0])
        // The store's whole command set, and only its keys and channels (ACLs are per node).
        for node in cluster.addresses {
            let acl = try await cluster.send(node, ["ACL", "SETUSER", "lb", "on", ">lb-pw"] + Self.minimalACL)
            #expect(acl == .simple("OK"))
        }
        var settings = Self.settings(cluster)
        (settings.user, settings.password) = ("lb", "lb-pw")
        let writer = try RedisClusterFlowStore(settings: settings)
        settings.seeds = Array(cluster.addresses.prefix(3))
        let follower = try RedisClusterFlowStore(settings: settings)
        #expect(writer.description == "redis-cluster \(cluster.addresses[0])")
        // Announced records covering every channel's part.
        var announced: [Int] = []
        var parts = Set<Int>()
        var i = 0
        while parts.count < 64 {
            let part = writer.channels.part(ofSlot: RedisClusterSlot.of(record(i).storeKey))
            if parts.insert(part).inserted { announced.append(i) }
            i += 1
        }
        let quiet = Array(100_000..<100_200)
        try await running(writer) {
            try await running(follower) {
                // Closing the follower ends its announcements: a missing one fails, not hangs.
                let watchdog = Task {
                    try await Task.sleep(for: .seconds(10))
                    follower.close()
                }
                defer { watchdog.cancel() }
                let heard = try await follower.follow { announcements in
                    let result = try await writer.write(
                        announced.map { put($0, announce: true) } + quiet.map { put($0) })
                    #expect(result == FlowStoreWriteResult(written: announced.count + quiet.count))
                    var heard = Set<FlowKey>()
                    for try await batch in announcements {
                        heard.formUnion(batch.map(\.flow))
                        if heard.count >= announced.count { break }
                    }
                    return heard
                }
                #expect(heard == Set(announced.map { record($0).flow }), "every channel delivers")
            }
            // Each key is on its slot's primary, as the server computes the slot.
            for i in announced.prefix(10) + quiet.prefix(10) {
                let key = record(i).storeKey
                let slot = try await cluster.send(cluster.addresses[0], ["CLUSTER", "KEYSLOT", key])
                #expect(slot == .integer(RedisClusterSlot.of(key)))
                let owner = try #require(topology.primary(forSlot: RedisClusterSlot.of(key)))
                #expect(try await cluster.send(owner, ["GET", key]) == .bulk(Array("10.0.0.1:80".utf8)))
            }
            var total = 0
            for primary in topology.primaries {
                guard case .integer(let keys) = try await cluster.send(primary, ["DBSIZE"]) else {
                    throw FixtureError("DBSIZE")
                }
                #expect(keys > 0, "\(primary) holds none")
                total += keys
            }
            #expect(total == announced.count + quiet.count)
            let snapshot = try await writer.snapshot()
            #expect(Set(snapshot.map(\.flow)) == Set((announced + quiet).map { record($0).flow }))
            #expect(try await writer.usage().entries == total)
            #expect(try await writer.write(quiet.map { .delete(record($0)) }).written == quiet.count)
            #expect(try await writer.snapshot().count == announced.count)
        }
    }

    /// ASK during a migration sends the write to the importing node; MOVED after it (a slot set
    /// by hand, then a `redis-cli --cluster reshard`) refreshes the topology once per batch, and
    /// the writes land on the new owner within the same call.
    @Test func redirectsAreFollowed() async throws {
        let cluster = try await RedisClusterFixture(primaries: 3, replicas: 0)
        defer { cluster.stop() }
        let topology = try await cluster.topology(from: cluster.addresses[0])
        let source = topology.primaries[0]
        let target = topology.primaries[1]
        let moving = record { topology.primary(forSlot: $0) == source }
        let slot = RedisClusterSlot.of(record(moving).storeKey)
        let (sourceID, targetID) = (try await cluster.nodeID(source), try await cluster.nodeID(target))
        let store = try RedisClusterFlowStore(settings: Self.settings(cluster))
        try await running(store) {
            #expect(try await store.write([put(moving + 1_000_000)]).written == 1) // learns the topology
            _ = try await cluster.send(target, ["CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", sourceID])
            _ = try await cluster.send(source, ["CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", targetID])
            // Not on the source: it answers ASK, the store asks the target.
            #expect(try await store.write([put(moving, announce: true)]) == FlowStoreWriteResult(written: 1))
            let asked = try await cluster.sendAll(target, [["ASKING"], ["GET", record(moving).storeKey]])
            #expect(asked.last == .bulk(Array("10.0.0.1:80".utf8)))
            for node in topology.primaries {
                _ = try await cluster.send(node, ["CLUSTER", "SETSLOT", "\(slot)", "NODE", targetID])
            }
            // The store still thinks the source owns the slot: MOVED, refresh, applied.
            #expect(try await store.write([.delete(record(moving))]) == FlowStoreWriteResult(written: 1))
            #expect(try await cluster.send(target, ["EXISTS", record(moving).storeKey]) == .integer(0))
            #expect(try await store.write([put(moving)]).written == 1)
            #expect(try await cluster.send(target, ["EXISTS", record(moving).storeKey]) == .integer(1))

            // A reshard moves 1000 slots, keys and all: the batch's MOVED replies cost one
            // topology refresh, not one per key, and every write lands on the new owner.
            let third = topology.primaries[2]
            let batch = (2_000_000..<2_000_300).map { put($0) }
            #expect(try await store.write(batch).written == batch.count)
            try RedisClusterFixture.cli([
                "--cluster", "reshard", source.description, "--cluster-from", sourceID,
                "--cluster-to", try await cluster.nodeID(third), "--cluster-slots", "1000", "--cluster-yes",
            ])
            let refreshes = store.topologyRefreshes
            #expect(try await store.write(batch) == FlowStoreWriteResult(written: batch.count))
            #expect(store.topologyRefreshes == refreshes + 1)
            let after = try await cluster.topology(from: third)
            let moved = batch.indices.filter { i in
                after.primary(forSlot: RedisClusterSlot.of(record(2_000_000 + i).storeKey)) == third
                    && topology.primary(forSlot: RedisClusterSlot.of(record(2_000_000 + i).storeKey)) == source
            }
            #expect(moved.count > 5, "the reshard moved none of the batch's keys")
            for i in moved.prefix(5) {
                #expect(try await cluster.send(third, ["EXISTS", record(2_000_000 + i).storeKey]) == .integer(1))
            }
        }
        // `close()` ends a follower's announcements (every primary's connection), and no
        // subscription starts after it.
        let follower = try RedisClusterFlowStore(settings: Self.settings(cluster))
        _ = try? await follower.follow { announcements in
            follower.close()
            for try await _ in announcements { Issue.record("an announcement after close") }
        }
        await #expect(throws: RedisClientError.closed(cluster.addresses[0])) {
            try await follower.follow { _ in }
        }
        for node in cluster.addresses {
            var clients = 0
            // The server notices a closed socket on its next turn; MIGRATE's cached connections
            // (RESTORE-ASKING, from the reshard) are the cluster's own.
            for _ in 0..<20 {
                let list = try await cluster.send(node, ["CLIENT", "LIST"]).string ?? ""
                clients = list.split(separator: "\n").filter { !$0.contains("cmd=restore") }.count
                if clients == 1 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(clients == 1, "\(node) still has a store connection")
        }
    }

    /// A replica promoted (a manual failover, then a killed primary): `follow` ends, and later
    /// writes land on the new primary.
    @Test func aPromotedReplicaTakesOver() async throws {
        let cluster = try await RedisClusterFixture(primaries: 3, replicas: 1)
        defer { cluster.stop() }
        let before = try await cluster.topology(from: cluster.addresses[0])
        let store = try RedisClusterFlowStore(settings: Self.settings(cluster, seeds: 6))
        try await running(store) {
            // A manual failover: the old primary unsubscribes its channels.
            let first = before.ranges[0]
            let promoted = try #require(first.replicas.first)
            let ended = await endsFollow(store) {
                _ = try await cluster.send(promoted, ["CLUSTER", "FAILOVER"])
            }
            #expect(ended, "follow did not end after a failover")
            let i = record { first.slots.contains($0) }
            _ = try await writeUntilApplied(store, [put(i)])
            #expect(try await cluster.send(promoted, ["GET", record(i).storeKey]) == .bulk(Array("10.0.0.1:80".utf8)))

            // A killed primary: its connection drops, its replica is promoted by the cluster.
            let second = before.ranges[1]
            let heir = try #require(second.replicas.first)
            let killed = await endsFollow(store) { cluster.kill(second.primary) }
            #expect(killed, "follow did not end after a primary died")
            let j = record { second.slots.contains($0) }
            _ = try await writeUntilApplied(store, [put(j), put(i + 1)])
            #expect(try await cluster.send(heir, ["GET", record(j).storeKey]) == .bulk(Array("10.0.0.1:80".utf8)))
            // Every slot has a live primary again: the snapshot reads them all.
            var snapshot: [FlowRecord] = []
            for _ in 0..<50 where snapshot.isEmpty {
                snapshot = (try? await store.snapshot()) ?? []
                if snapshot.isEmpty { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(Set(snapshot.map(\.flow)) == Set([i, j, i + 1].map { record($0).flow }))
        }
    }

    /// Whether `follow`, set up before `event`, ends (throws or returns) within seconds of it.
    private func endsFollow(
        _ store: RedisClusterFlowStore, after event: @escaping @Sendable () async throws -> Void
    ) async -> Bool {
        do {
            return try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    var happened = false
                    do {
                        try await store.follow { announcements in
                            try await event()
                            happened = true
                            for try await _ in announcements {}
                        }
                    } catch {}
                    return happened
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    return false
                }
                let ended = try await group.next() ?? false
                group.cancelAll()
                return ended
            }
        } catch {
            return false
        }
    }

    /// One primary dead, no replica (and the cluster set to serve partial coverage): the
    /// other shards' writes land, the dead shard's come back as retries; the snapshot fails
    /// rather than return a partial copy; with every node dead, `write` throws.
    @Test func oneDeadShardDoesNotStallTheOthers() async throws {
        let cluster = try await RedisClusterFixture(
            primaries: 3, replicas: 0, options: ["--cluster-require-full-coverage", "no"])
        defer { cluster.stop() }
        let topology = try await cluster.topology(from: cluster.addresses[0])
        let store = try RedisClusterFlowStore(settings: Self.settings(cluster, seeds: 3))
        try await running(store) {
            let writes = (0..<60).map { put($0) }
            #expect(try await store.write(writes).written == 60)
            let dead = topology.primaries[2]
            cluster.kill(dead)
            let onDead = (0..<60).filter { topology.primary(forSlot: RedisClusterSlot.of(record($0).storeKey)) == dead }
            let result = try await store.write(writes)
            #expect(result.written == 60 - onDead.count)
            #expect(result.retry.count == onDead.count)
            #expect(result.retry.allSatisfy { $0.error.kind == .clusterDown && $0.target == nil })
            // Again, with the topology refreshed (the dead node still holds its slots).
            #expect(try await store.write(writes).written == 60 - onDead.count)
            await #expect(throws: (any Error).self) { _ = try await store.snapshot() }
            for node in topology.primaries where node != dead { cluster.kill(node) }
            await #expect(throws: (any Error).self) { _ = try await store.write(writes) }
        }
    }

    @Test func settingsWithoutSeedsAreRejected() {
        #expect(throws: RedisClusterError.noSeeds) {
            try RedisClusterFlowStore(settings: FlowStoreSettings(kind: .redisCluster))
        }
    }
}
