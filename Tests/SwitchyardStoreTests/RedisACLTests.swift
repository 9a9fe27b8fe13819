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

/// The least an ACL user needs (`RedisFlowStore.minimalACL`), proved against a real server:
/// with exactly that the store works; with one right less it fails with NOPERM, counted.
@Suite(
    .enabled(
        if: RedisServer.binary != nil, "skipped: redis-server is not installed (scripts/install-deps.sh installs it)"),
    .serialized)
struct RedisACLTests {
    static let admin = RedisCredentials(password: "admin-secret")

    /// A server with an ACL user `lb` of the minimal rules, with `change` applied after them.
    static func server(change: [String] = []) async throws -> RedisServer {
        let server = try RedisServer(password: "admin-secret")
        let reply = try await RedisClient.withClient(
            to: server.address, options: RedisConnectionOptions(credentials: admin)
        ) { client in
            try await client.send([["ACL", "SETUSER", "lb", "on", ">lb-secret"] + RedisFlowStore.minimalACL + change])
        }
        #expect(reply == [.simple("OK")])
        return server
    }

    static func store(_ server: RedisServer) throws -> RedisFlowStore {
        try RedisFlowStore(
            settings: FlowStoreSettings(
                kind: .redis, host: "127.0.0.1", port: server.port, user: "lb", password: "lb-secret"))
    }

    @Test func theDocumentedLineIsTheRules() {
        #expect(
            (["ACL", "SETUSER", "switchyard", "on", ">PASSWORD"] + RedisFlowStore.minimalACL).joined(separator: " ")
                == "ACL SETUSER switchyard on >PASSWORD resetkeys resetchannels ~sy:f:* &sy:flows -@all "
                + "+set +get +del +publish +subscribe +scan +info +role")
    }

    @Test func theMinimalRulesAreEnough() async throws {
        let server = try await Self.server()
        defer { server.stop() }
        let writer = try Self.store(server)
        let follower = try Self.store(server)
        try await whileRunning(writer) {
            try await follower.follow { announced in
                let result = try await writer.write([
                    .put(record(1), seconds: 60, announce: true), .put(record(2), seconds: 60, announce: false),
                    .delete(record(2)),
                ])
                #expect(result == FlowStoreWriteResult(written: 3))
                var iterator = announced.makeAsyncIterator()
                let heard = try await iterator.next()
                #expect(heard?.map(\.flow) == [record(1).flow])
            }
            #expect(try await follower.snapshot().map(\.flow) == [record(1).flow])
            let usage = try await writer.usage()
            #expect(usage.entries == 1 && usage.bytes > 0)
            // ROLE, for Sentinel's confirmation of the primary.
            let role = try await RedisClient.withClient(
                to: server.address,
                options: RedisConnectionOptions(credentials: RedisCredentials(user: "lb", password: "lb-secret"))
            ) { try await $0.send([["ROLE"]])[0] }
            #expect(RedisSentinelMessages.role(role) == .primary)
        }
    }

    /// Without PUBLISH, announced puts are refused as NOPERM (the other nodes did not hear them);
    /// the rest is applied.
    @Test func withoutPublishAnnouncedPutsAreRefused() async throws {
        let server = try await Self.server(change: ["-publish"])
        defer { server.stop() }
        let store = try Self.store(server)
        try await whileRunning(store) {
            let result = try await store.write([
                .put(record(1), seconds: 60, announce: true), .put(record(2), seconds: 60, announce: false),
            ])
            #expect(result.written == 1)
            #expect(result.refused == [.noPermission: 1])
            #expect(result.firstRefusal?.message.hasPrefix("NOPERM") == true)
            #expect(result.firstRefusal?.message.contains("publish") == true, "\(result.firstRefusal?.message ?? "")")
        }
    }

    /// Keys narrowed to another prefix: every put and delete is refused as NOPERM, and the
    /// snapshot fails with it.
    @Test func outsideTheKeyPatternWritesAreRefused() async throws {
        let server = try await Self.server(change: ["resetkeys", "~sy:other:*"])
        defer { server.stop() }
        let store = try Self.store(server)
        try await whileRunning(store) {
            let result = try await store.write([.put(record(1), seconds: 60, announce: true), .delete(record(2))])
            #expect(result.written == 0)
            #expect(result.refused == [.noPermission: 2])
            #expect(result.firstRefusal?.message.contains("key") == true, "\(result.firstRefusal?.message ?? "")")
        }
        // A key the user may not read, seen by SCAN: the snapshot fails with NOPERM.
        try await RedisClient.withClient(to: server.address, options: RedisConnectionOptions(credentials: Self.admin)) {
            _ = try await $0.send([["SET", record(3).storeKey, "10.0.0.1:80"]])
        }
        let reader = try Self.store(server)
        await #expect { _ = try await reader.snapshot() } throws: { ($0 as? RedisError)?.kind == .noPermission }
    }

    /// Without the channel, the subscription is refused with NOPERM.
    @Test func withoutTheChannelFollowFails() async throws {
        let server = try await Self.server(change: ["resetchannels"])
        defer { server.stop() }
        let store = try Self.store(server)
        await #expect { try await store.follow { _ in } } throws: { ($0 as? RedisError)?.kind == .noPermission }
    }
}
