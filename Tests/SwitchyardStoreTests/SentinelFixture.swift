import Foundation
import SwitchyardCore

@testable import SwitchyardStore

/// A Sentinel-managed primary on loopback, for tests (the lab starts the same in a namespace):
///
/// - a primary: `redis-server --port P --repl-diskless-sync-delay 0` (a full sync at once; the
///   default waits 5 s for more replicas)
/// - a replica of it: the same with `--port R --replicaof 127.0.0.1 P`, started once the
///   primary answers; the sentinels start once its link is up, so their first INFO of the
///   primary lists it (else they learn of it only 10 s later)
/// - three sentinels, each `redis-server sentinel.conf --sentinel --port S` with its own
///   writable copy of `sentinelConfig` (sentinels rewrite it):
///
///       sentinel resolve-hostnames no
///       sentinel monitor m 127.0.0.1 P 2
///       sentinel down-after-milliseconds m 1000
///       sentinel failover-timeout m 3000
///
/// Ready when every sentinel knows the replica and the two other sentinels (`SENTINEL
/// replicas m`, `SENTINEL sentinels m`; hellos go every 2 s). `SENTINEL FAILOVER m` on any
/// sentinel then promotes the replica without waiting for agreement; killing the primary
/// makes the sentinels agree it is down after 1 s and elect one to fail over.
final class SentinelFixture: @unchecked Sendable {
    static let masterName = "m"
    let primary: RedisServer
    let replica: RedisServer
    let sentinels: [RedisServer]
    private let configDirectory =
        FileManager.default.temporaryDirectory.appendingPathComponent("sy-sentinel-\(UUID().uuidString)")

    static let dataOptions = ["--repl-diskless-sync-delay", "0"]

    static func sentinelConfig(primaryPort: Int) -> String {
        """
        sentinel resolve-hostnames no
        sentinel monitor \(masterName) 127.0.0.1 \(primaryPort) 2
        sentinel down-after-milliseconds \(masterName) 1000
        sentinel failover-timeout \(masterName) 3000

        """
    }

    init() async throws {
        primary = try RedisServer(options: Self.dataOptions)
        var started: [RedisServer] = [primary]
        do {
            let replica = try RedisServer(options: Self.dataOptions + ["--replicaof", "127.0.0.1", "\(primary.port)"])
            started.append(replica)
            self.replica = replica
            try await Self.until("the replica's link to the primary is up") {
                try await Self.ask(replica.address, ["INFO", "replication"]).string?.contains("master_link_status:up")
                    == true
            }
            try FileManager.default.createDirectory(at: configDirectory, withIntermediateDirectories: true)
            var sentinels: [RedisServer] = []
            for index in 0..<3 {
                let config = configDirectory.appendingPathComponent("sentinel-\(index).conf")
                try Self.sentinelConfig(primaryPort: primary.port).write(to: config, atomically: true, encoding: .utf8)
                let sentinel = try RedisServer(options: ["--sentinel"], configFile: config.path)
                started.append(sentinel)
                sentinels.append(sentinel)
            }
            self.sentinels = sentinels
            for sentinel in sentinels {
                var seen = "nothing"
                let what = { "sentinel \(sentinel.address) knows the replica and 2 sentinels; it knows \(seen)" }
                try await Self.until(what) {
                    let replicas = try await Self.ask(sentinel.address, ["SENTINEL", "replicas", Self.masterName])
                    let others = try await Self.ask(sentinel.address, ["SENTINEL", "sentinels", Self.masterName])
                    guard case .array(let r?) = replicas, case .array(let s?) = others else { return false }
                    seen = "\(r.count) replicas, \(s.count) sentinels"
                    return r.count == 1 && s.count == 2
                }
            }
        } catch {
            for server in started { server.stop() }
            throw error
        }
    }

    var sentinelAddresses: [HostPort] { sentinels.map(\.address) }

    var settings: FlowStoreSettings {
        FlowStoreSettings(kind: .redisSentinel, seeds: sentinelAddresses, masterName: Self.masterName)
    }

    /// Promotes the replica now (`SENTINEL FAILOVER`, no agreement needed).
    func failover() async throws {
        let reply = try await Self.ask(sentinels[0].address, ["SENTINEL", "FAILOVER", Self.masterName])
        if let error = reply.redisError { throw error }
    }

    func stop() {
        let servers = sentinels + [replica, primary]
        DispatchQueue.concurrentPerform(iterations: servers.count) { servers[$0].stop() }
        try? FileManager.default.removeItem(at: configDirectory)
    }

    static func ask(_ address: HostPort, _ command: [String]) async throws -> RESPValue {
        try await RedisClient.withClient(to: address) { try await $0.send([command])[0] }
    }

    /// Polls `condition` every 100 ms for up to `seconds`.
    static func until(_ what: String, seconds: Double = 15, _ condition: () async throws -> Bool) async throws {
        try await until({ what }, seconds: seconds, condition)
    }

    static func until(
        _ what: () -> String, seconds: Double = 15, _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw FixtureTimeout(what: what())
    }

    struct FixtureTimeout: Error, CustomStringConvertible {
        let what: String
        var description: String { "timed out waiting until \(what)" }
    }
}
