import Foundation
import SwitchyardCore
import Testing
@testable import SwitchyardStore

private func record(_ i: Int, backend: String = "10.0.0.1:80") -> FlowRecord {
    FlowRecord(service: "10.1.0.1:80/tcp", flow: FlowKey(source: .v4(IPv4Address(UInt32(0x0a00_0000 + i))), destination: .v4(IPv4Address(10, 1, 0, 1)),
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
        _ = try await store.write([.put(record(1), seconds: 60, announce: true), .put(record(2), seconds: 10, announce: true),
                                   .put(record(3), seconds: 60, announce: false), .delete(record(3))])
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
        handle.write(Data("X\tnonsense\nP\tnot-a-number\tsy:f:a:00\tb\nP\t2000000\tsy:f:".utf8)) // the last one torn by a crash
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
            _ = try await store.write((0..<500).map { .put(record(10_000 + batch * 500 + $0), seconds: 60, announce: true) })
        }
        let live = Set(await store.snapshot().map(\.flow))
        #expect(live.count <= 1000)
        #expect((0..<200).allSatisfy { live.contains(record($0).flow) }, "an established entry was evicted")
        #expect(await store.evicted >= 4000)
        await store.close()
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

@Suite(.enabled(if: RedisServer.binary != nil, "skipped: redis-server is not installed (scripts/install-deps.sh installs it)"), .serialized)
struct RedisFlowStoreTests {
    /// Writes, announcements to a follower, the snapshot, deletes, TTLs and usage against a real
    /// redis-server, authenticating as an ACL user.
    @Test func sharesEntriesBetweenNodes() async throws {
        let server = try RedisServer(password: "admin-secret")
        defer { server.stop() }
        let admin = try await RedisClient.connect(host: "127.0.0.1", port: server.port, password: "admin-secret")
        let acl = try await admin.send([["ACL", "SETUSER", "lb", "on", ">lb-secret", "~sy:*", "&sy:*", "+@all"]])
        #expect(acl.first == .simple("OK"))
        let settings = FlowStoreSettings(kind: .redis, host: "127.0.0.1", port: server.port, user: "lb", password: "lb-secret")
        let writer = RedisFlowStore(settings: settings), follower = RedisFlowStore(settings: settings)
        let announced = try await follower.follow()
        try await Task.sleep(for: .milliseconds(100)) // let SUBSCRIBE land

        _ = try await writer.write([.put(record(1), seconds: 60, announce: true), .put(record(2), seconds: 900, announce: false)])
        var iterator = announced.makeAsyncIterator()
        let batch = try await iterator.next()
        #expect(batch?.map(\.flow) == [record(1).flow], "only announced entries are published")
        #expect(Set(try await follower.snapshot().map(\.flow)) == [record(1).flow, record(2).flow])
        let ttl = try await admin.send([["TTL", record(2).storeKey]])
        #expect(ttl.first.flatMap { if case .integer(let n) = $0 { n } else { nil } }.map { (890...900).contains($0) } == true)

        _ = try await writer.write([.delete(record(1))])
        #expect(try await follower.snapshot().map(\.flow) == [record(2).flow])
        let usage = try await writer.usage()
        #expect(usage.entries == 1 && usage.bytes > 0)

        let wrong = RedisFlowStore(settings: FlowStoreSettings(kind: .redis, host: "127.0.0.1", port: server.port, user: "lb", password: "nope"))
        await #expect(throws: (any Error).self) { _ = try await wrong.write([.put(record(3), seconds: 60, announce: false)]) }
        await writer.close()
        await follower.close()
        admin.close()
    }

    /// A store that restarts: the write fails clearly, the next write reconnects.
    @Test func reconnectsAfterARestart() async throws {
        let server = try RedisServer()
        let store = RedisFlowStore(settings: FlowStoreSettings(kind: .redis, host: "127.0.0.1", port: server.port))
        _ = try await store.write([.put(record(1), seconds: 60, announce: false)])
        server.stop()
        await #expect(throws: (any Error).self) { _ = try await store.write([.put(record(2), seconds: 60, announce: false)]) }
        let again = try RedisServer(port: server.port)
        defer { again.stop() }
        _ = try await store.write([.put(record(2), seconds: 60, announce: false)])
        #expect(try await store.snapshot().map(\.flow) == [record(2).flow], "a restarted store comes back empty but takes writes")
        await store.close()
    }
}
