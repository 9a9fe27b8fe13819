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

/// A clock tests can move.
private final class FakeClock: @unchecked Sendable {
    var now = 1_000_000
    var read: @Sendable () -> Int { { self.now } }
}

struct EmbeddedFlowStoreTests {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("sy-journal-\(UUID().uuidString)").path

    @Test func entriesSurviveAReopenAndExpire() async throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        let clock = FakeClock()
        let store = try EmbeddedFlowStore(path: path, clock: clock.read)
        _ = try await store.write([
            .put(record(1), seconds: 60, announce: true), .put(record(2), seconds: 10, announce: true),
            .put(record(3), seconds: 60, announce: false), .delete(record(3)),
        ])
        await store.close()

        clock.now += 30 // record 2 has expired
        let reopened = try EmbeddedFlowStore(path: path, clock: clock.read)
        let snapshot = await reopened.snapshot()
        #expect(snapshot.map(\.flow) == [record(1).flow])
        #expect(snapshot.first?.backend == "10.0.0.1:80")
        #expect(await reopened.loadReport.expired == 1)
        #expect(await reopened.loadReport.live == 1)
        // A refresh moves the expiry.
        _ = try await reopened.write([.put(record(1), seconds: 900, announce: false)])
        #expect(await reopened.secondsLeft(record(1)) == 900)
        await reopened.close()
    }

    @Test func tornAndMalformedLinesAreSkippedAndNamed() async throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        let clock = FakeClock()
        let store = try EmbeddedFlowStore(path: path, clock: clock.read)
        _ = try await store.write([.put(record(1), seconds: 60, announce: true)])
        await store.close()
        let handle = FileHandle(forWritingAtPath: path)!
        handle.seekToEndOfFile()
        // The last line is torn, as a crash leaves it.
        handle.write(Data("X\tnonsense\nP\tnot-a-number\tsy:f:a:00\tb\nP\t2000000\tsy:f:".utf8))
        try handle.close()
        let reopened = try EmbeddedFlowStore(path: path, clock: clock.read)
        let report = await reopened.loadReport
        #expect(report.malformed == 3)
        #expect(report.firstMalformed?.hasSuffix(":2: X\tnonsense") == true, "\(report.firstMalformed ?? "")")
        #expect(await reopened.snapshot().count == 1)
        await reopened.close()
    }

    /// Past its bound the store drops what expires soonest: new flows never refreshed (a flood)
    /// go before refreshed, established ones.
    @Test func theBoundEvictsFloodEntriesBeforeEstablishedOnes() async throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try EmbeddedFlowStore(path: path, maxEntries: 1000, clock: FakeClock().read)
        let established = (0..<200).map { FlowStoreWrite.put(record($0), seconds: 900, announce: false) }
        _ = try await store.write(established)
        for batch in 0..<10 {
            _ = try await store.write(
                (0..<500).map { .put(record(10_000 + batch * 500 + $0), seconds: 60, announce: true) })
        }
        let live = Set(await store.snapshot().map(\.flow))
        #expect(live.count <= 1000)
        #expect((0..<200).allSatisfy { live.contains(record($0).flow) }, "an established entry was evicted")
        #expect(await store.evicted >= 4000)
        await store.close()
    }

    /// The embedded store owns no connection, but `run()` lasts until `close()` like a remote
    /// store's, and `follow` has nothing to announce.
    @Test func runLastsUntilCloseAndFollowEndsAtOnce() async throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try EmbeddedFlowStore(path: path, clock: FakeClock().read)
        let batches = try await running(store) {
            #expect(
                try await store.write([.put(record(1), seconds: 60, announce: true), .delete(record(2))])
                    == FlowStoreWriteResult(written: 2))
            return try await store.follow { announced in
                var count = 0
                for try await _ in announced { count += 1 }
                return count
            }
        }
        #expect(batches == 0)
        let second = try EmbeddedFlowStore(path: path, clock: FakeClock().read)
        await second.close()
        try await second.run() // already closed: returns at once
        await #expect(throws: EmbeddedFlowStore.StoreError.self) { try await second.run() }
    }

    @Test func compactionKeepsOnlyLiveEntries() async throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        let clock = FakeClock()
        let store = try EmbeddedFlowStore(path: path, clock: clock.read)
        for round in 0..<30 { // 30 × 5000 refreshes of the same 5000 entries: the journal is rewritten
            _ = try await store.write((0..<5000).map { .put(record($0), seconds: 100 + round, announce: false) })
        }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count
        #expect(lines < 120_000, "journal not compacted: \(lines) lines")
        #expect(await store.snapshot().count == 5000)
        await store.close()
    }
}

/// Runs `body` with `store` running in a task group, as its owner would; closes it after.
@discardableResult
private func running<T: Sendable>(_ store: some FlowStore, _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await store.run() }
        do {
            let result = try await body()
            await store.close()
            try await group.waitForAll()
            return result
        } catch {
            await store.close()
            throw error
        }
    }
}

@Suite(
    .enabled(
        if: RedisServer.binary != nil, "skipped: redis-server is not installed (scripts/install-deps.sh installs it)"),
    .serialized)
struct RedisFlowStoreTests {
    static func settings(_ server: RedisServer, user: String? = nil, password: String? = nil) -> FlowStoreSettings {
        FlowStoreSettings(kind: .redis, host: "127.0.0.1", port: server.port, user: user, password: password)
    }

    /// Writes, announcements to a follower, the snapshot, deletes, TTLs and usage against a real
    /// redis-server, authenticating as an ACL user.
    @Test func sharesEntriesBetweenNodes() async throws {
        let server = try RedisServer(password: "admin-secret")
        defer { server.stop() }
        let admin = RedisCredentials(password: "admin-secret")
        try await RedisClient.withClient(to: server.address, options: RedisConnectionOptions(credentials: admin)) {
            admin in
            let acl = try await admin.send([["ACL", "SETUSER", "lb", "on", ">lb-secret", "~sy:*", "&sy:*", "+@all"]])
            #expect(acl.first == .simple("OK"))
            let settings = Self.settings(server, user: "lb", password: "lb-secret")
            let writer = try RedisFlowStore(settings: settings)
            let follower = try RedisFlowStore(settings: settings)
            #expect(writer.description == "redis \(server.address)")
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await writer.run() }
                group.addTask { try await follower.run() }
                try await follower.follow { announced in
                    let result = try await writer.write([
                        .put(record(1), seconds: 60, announce: true),
                        .put(record(2), seconds: 900, announce: false),
                    ])
                    #expect(result == FlowStoreWriteResult(written: 2))
                    var iterator = announced.makeAsyncIterator()
                    let batch = try await iterator.next()
                    #expect(batch?.map(\.flow) == [record(1).flow], "only announced entries are published")
                }
                #expect(Set(try await follower.snapshot().map(\.flow)) == [record(1).flow, record(2).flow])
                let ttl = try await admin.send([["TTL", record(2).storeKey]])
                guard case .integer(let seconds) = ttl.first else {
                    throw RedisClientError.unexpectedReply(command: "TTL", reply: "\(ttl)")
                }
                #expect((890...900).contains(seconds))

                #expect(try await writer.write([.delete(record(1))]).written == 1)
                #expect(try await follower.snapshot().map(\.flow) == [record(2).flow])
                let usage = try await writer.usage()
                #expect(usage.entries == 1 && usage.bytes > 0)
                writer.close()
                follower.close()
                try await group.waitForAll()
            }
            // Closed stores hold no connection: only the admin's is left.
            #expect(try await clientCount(admin) == 1)
        }
    }

    /// Wrong credentials are the connection's failure, not a refusal: the write throws a typed
    /// error and the caller keeps its writes.
    @Test func authenticationFailuresThrow() async throws {
        let server = try RedisServer(password: "admin-secret")
        defer { server.stop() }
        let wrong = try RedisFlowStore(settings: Self.settings(server, user: "default", password: "nope"))
        try await running(wrong) {
            await #expect { _ = try await wrong.write([.put(record(3), seconds: 60, announce: false)]) } throws: {
                ($0 as? RedisError)?.kind == .wrongPass
            }
            await #expect { _ = try await wrong.snapshot() } throws: { ($0 as? RedisError)?.kind == .wrongPass }
            await #expect { try await wrong.follow { _ in } } throws: { ($0 as? RedisError)?.kind == .wrongPass }
        }
        let none = try RedisFlowStore(settings: Self.settings(server))
        try await running(none) {
            await #expect { _ = try await none.write([.put(record(3), seconds: 60, announce: false)]) } throws: {
                ($0 as? RedisError)?.kind == .noAuth
            }
        }
    }

    /// An ACL user without SET: puts are refused (counted as NOPERM), deletes are applied.
    @Test func refusalsAreCountedByKind() async throws {
        let server = try RedisServer(password: "admin-secret")
        defer { server.stop() }
        let admin = RedisCredentials(password: "admin-secret")
        try await RedisClient.withClient(to: server.address, options: RedisConnectionOptions(credentials: admin)) {
            admin in
            _ = try await admin.send([["ACL", "SETUSER", "reader", "on", ">pw", "~sy:*", "&sy:*", "+@all", "-set"]])
        }
        let store = try RedisFlowStore(settings: Self.settings(server, user: "reader", password: "pw"))
        try await running(store) {
            let result = try await store.write([
                .put(record(1), seconds: 60, announce: true), .delete(record(2)),
                .put(record(3), seconds: 60, announce: false),
            ])
            #expect(result.written == 1)
            #expect(result.retry.isEmpty)
            #expect(result.refused == [.noPermission: 2])
            #expect(result.errors == [.noPermission: 2])
            #expect(result.firstRefusal?.kind == .noPermission)
            #expect(result.firstRefusal?.message.contains("set") == true, "\(result.firstRefusal?.message ?? "")")
            // A plain syntax error (an expiry of 0 seconds): refused as "other", with the text.
            let admin = try RedisFlowStore(settings: Self.settings(server, password: "admin-secret"))
            try await running(admin) {
                let invalid = try await admin.write([
                    .put(record(4), seconds: 0, announce: false),
                    .put(record(5), seconds: 60, announce: false),
                ])
                #expect(invalid.written == 1)
                #expect(invalid.refused == [.other: 1])
                #expect(invalid.firstRefusal?.message.contains("invalid expire time") == true)
            }
        }
    }

    /// Over `maxmemory` with `noeviction`: puts are refused as OOM; deletes still go through.
    @Test func outOfMemoryIsARefusal() async throws {
        let server = try RedisServer(options: ["--maxmemory-policy", "noeviction"])
        defer { server.stop() }
        try await RedisClient.withClient(to: server.address) { admin in
            let ballast = String(repeating: "x", count: 2 << 20)
            _ = try await admin.send([["SET", "ballast", ballast], ["CONFIG", "SET", "maxmemory", "1mb"]])
        }
        let store = try RedisFlowStore(settings: Self.settings(server))
        try await running(store) {
            let result = try await store.write([.put(record(1), seconds: 60, announce: true), .delete(record(2))])
            #expect(result.written == 1)
            #expect(result.refused == [.outOfMemory: 1])
            #expect(result.firstRefusal?.message.hasPrefix("OOM") == true)
            #expect(result.retry.isEmpty)
        }
    }

    /// A store that restarts: the write fails clearly, the next write reconnects.
    @Test func reconnectsAfterARestart() async throws {
        let server = try RedisServer()
        let store = try RedisFlowStore(settings: Self.settings(server))
        try await running(store) {
            _ = try await store.write([.put(record(1), seconds: 60, announce: false)])
            server.stop()
            await #expect(throws: (any Error).self) {
                _ = try await store.write([.put(record(2), seconds: 60, announce: false)])
            }
            let again = try RedisServer(port: server.port)
            defer { again.stop() }
            _ = try await store.write([.put(record(2), seconds: 60, announce: false)])
            #expect(
                try await store.snapshot().map(\.flow) == [record(2).flow],
                "a restarted store comes back empty but takes writes")
        }
    }

    /// `close()` ends a follower's announcements, and no subscription starts after it.
    @Test func closeEndsFollowers() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        let store = try RedisFlowStore(settings: Self.settings(server))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            try await store.follow { announced in
                store.close()
                for try await _ in announced { Issue.record("an announcement after close") }
            }
            try await group.waitForAll()
        }
        await #expect(throws: RedisClientError.closed(store.address)) { try await store.follow { _ in } }
    }

    @Test func settingsThatAreNoAddressAreRejected() {
        #expect(throws: HostPort.ParseError.emptyHost(":6379")) {
            try RedisFlowStore(settings: FlowStoreSettings(kind: .redis))
        }
        #expect(throws: HostPort.ParseError.invalidPort("redis:0")) {
            try RedisFlowStore(settings: FlowStoreSettings(kind: .redis, host: "redis", port: 0))
        }
        #expect(
            (try? RedisFlowStore(settings: FlowStoreSettings(kind: .redis, host: "::1", port: 6379)))?.description
                == "redis [::1]:6379")
    }
}
