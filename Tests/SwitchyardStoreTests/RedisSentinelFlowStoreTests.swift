import Foundation
import SwitchyardCore
import Testing

@testable import SwitchyardStore

private func record(_ i: Int) -> FlowRecord {
    FlowRecord(
        service: "10.1.0.1:80/tcp",
        flow: FlowKey(
            source: .v4(IPv4Address(UInt32(0x0a00_0000 + i))), destination: .v4(IPv4Address(10, 1, 0, 1)),
            sourcePort: UInt16(1000 + i), destinationPort: 80, proto: 6),
        backend: "10.0.0.1:80", origin: "lb1")
}

/// Whether `address` holds the entry of `record`, asked directly.
private func holds(_ address: HostPort, _ record: FlowRecord) async throws -> Bool {
    try await SentinelFixture.ask(address, ["GET", record.storeKey]).string == record.backend
}

/// Writes `record` until the store applies it (after a failover the first attempts may meet
/// a lost connection or READONLY, which the caller retries, as flow sync does).
private func writeUntilApplied(_ store: RedisFlowStore, _ record: FlowRecord) async throws {
    try await SentinelFixture.until("the write of \(record.storeKey) is applied") {
        try await store.write([.put(record, seconds: 60, announce: true)]).written == 1
    }
}

@Suite(
    .enabled(
        if: RedisServer.binary != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-sentinel"),
        "skipped: redis-server or redis-sentinel is not installed (scripts/install-deps.sh installs them)"),
    .serialized)
struct RedisSentinelFlowStoreTests {
    /// The store finds the primary through the sentinels and writes there; `SENTINEL FAILOVER`
    /// ends `follow` with the switch named, and the next writes land on the new primary.
    @Test func followsAFailover() async throws {
        let fixture = try await SentinelFixture()
        defer { fixture.stop() }
        let store = try RedisFlowStore(settings: fixture.settings)
        let sentinels = fixture.sentinelAddresses.map(\.description).joined(separator: ",")
        #expect(store.description == "redis-sentinel m via sentinels \(sentinels)")
        try await whileRunning(store) {
            #expect(try await store.write([.put(record(1), seconds: 60, announce: true)]).written == 1)
            #expect(store.address == fixture.primary.address)
            #expect(try await holds(fixture.primary.address, record(1)))
            #expect(try await store.snapshot().map(\.flow) == [record(1).flow])

            let started = ContinuousClock.now
            await #expect {
                try await store.follow { announced in
                    try await fixture.failover()
                    for try await _ in announced {}
                }
            } throws: { error in
                let change = RedisSentinelSwitch(
                    masterName: "m", from: fixture.primary.address, to: fixture.replica.address)
                return error as? RedisSentinelError == .primarySwitched(change)
                    && "\(error)".contains("moved from \(fixture.primary.address) to \(fixture.replica.address)")
            }
            #expect(ContinuousClock.now - started < .seconds(10))

            try await writeUntilApplied(store, record(2))
            #expect(store.address == fixture.replica.address)
            #expect(try await holds(fixture.replica.address, record(2)))
            let role = try await SentinelFixture.ask(fixture.replica.address, ["ROLE"])
            #expect(RedisSentinelMessages.role(role) == .primary)
            // Following again finds the new primary and hears its announcements.
            try await store.follow { announced in
                let result = try await store.write([.put(record(3), seconds: 60, announce: true)])
                #expect(result.written == 1)
                var iterator = announced.makeAsyncIterator()
                let heard = try await iterator.next()
                #expect(heard?.map(\.flow) == [record(3).flow])
            }
            #expect(Set(try await store.snapshot().map(\.flow)).isSuperset(of: [record(2).flow, record(3).flow]))
        }
    }

    /// A killed primary: the follow ends at once (its connection is lost), the sentinels agree
    /// and promote the replica, and writes resume there.
    @Test func survivesAKilledPrimary() async throws {
        let fixture = try await SentinelFixture()
        defer { fixture.stop() }
        let store = try RedisFlowStore(settings: fixture.settings)
        try await whileRunning(store) {
            #expect(try await store.write([.put(record(1), seconds: 60, announce: true)]).written == 1)
            await #expect(throws: (any Error).self) {
                try await store.follow { announced in
                    fixture.primary.stop()
                    for try await _ in announced {}
                    throw CancellationError() // the announcements ended: what flow sync sees as "ended"
                }
            }
            try await writeUntilApplied(store, record(2))
            #expect(store.address == fixture.replica.address)
            #expect(try await holds(fixture.replica.address, record(2)))
        }
    }

    /// Sentinels are asked in turn: one unreachable, one that is no sentinel, then one that
    /// answers. No answer at all is an error with every sentinel's answer.
    @Test func sentinelsAreAskedInTurn() async throws {
        let fixture = try await SentinelFixture()
        defer { fixture.stop() }
        let notASentinel = RedisSentinel(sentinels: [fixture.replica.address], masterName: "m")
        await #expect { _ = try await notASentinel.primary() } throws: { error in
            guard case .noPrimary(let name, let answers) = error as? RedisSentinelError else { return false }
            return name == "m" && answers.count == 1 && answers[0].contains("unknown")
        }
        let unknown = RedisSentinel(sentinels: [fixture.sentinels[0].address], masterName: "other")
        await #expect { _ = try await unknown.primary() } throws: { "\($0)".contains("does not monitor other") }
        let mixed = RedisSentinel(
            sentinels: [HostPort("127.0.0.1:1")!, fixture.replica.address, fixture.sentinels[2].address],
            masterName: "m")
        #expect(try await mixed.primary() == fixture.primary.address)
    }

    @Test func incompleteSettingsAreRejected() {
        #expect(throws: RedisSentinelError.incompleteSettings("no sentinels (seeds) to ask for the primary")) {
            try RedisFlowStore(settings: FlowStoreSettings(kind: .redisSentinel, masterName: "m"))
        }
        #expect(throws: RedisSentinelError.incompleteSettings("no masterName to ask the sentinels about")) {
            try RedisFlowStore(settings: FlowStoreSettings(kind: .redisSentinel, seeds: [HostPort("127.0.0.1:26379")!]))
        }
    }
}
