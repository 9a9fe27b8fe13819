import Foundation
import SwitchyardCore

@testable import SwitchyardStore

/// A real Redis Cluster on 127.0.0.1 for tests: `primaries × (1 + replicas)` redis-servers with
/// cluster mode on (node timeout 1 s, so a failover takes seconds), formed by `redis-cli
/// --cluster create`, ready once every node reports `cluster_state:ok`, agrees on the slots and
/// every replica's link to its primary is up. Ports are consecutive from a random base (the bus
/// port is each port + 10000), so parallel test processes do not collide. `stop()` kills every
/// node; call it in a `defer`.
///
/// The same steps form a cluster anywhere (the lab): start the nodes with
/// `--cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 1000`, run
/// `redis-cli --cluster create HOST:PORT... --cluster-replicas N --cluster-yes`, wait for
/// `CLUSTER INFO` to say `cluster_state:ok` on every node.
final class RedisClusterFixture: @unchecked Sendable {
    private(set) var servers: [RedisServer] = []
    let replicasPerPrimary: Int

    static var cliPath: String? {
        ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var available: Bool { RedisServer.binary != nil && cliPath != nil }

    var addresses: [HostPort] { servers.map(\.address) }

    /// `options`: more redis-server arguments for every node (e.g.
    /// `--cluster-require-full-coverage no`). A node that does not come up (its port taken by
    /// another test process, a slow start) makes it start over on other ports, three times.
    init(primaries: Int = 3, replicas: Int = 1, options: [String] = []) async throws {
        replicasPerPrimary = replicas
        var failure: (any Error)?
        for _ in 0..<3 {
            let servers = try Self.start(count: primaries * (1 + replicas), options: options)
            do {
                for server in servers { try await Self.waitForPing(server.address) }
                _ = try Self.cli(
                    ["--cluster", "create"] + servers.map { $0.address.description }
                        + ["--cluster-replicas", "\(replicas)", "--cluster-yes"])
                self.servers = servers
                try await waitUntilReady()
                return
            } catch {
                for server in servers { server.stop() }
                failure = error
            }
        }
        throw failure ?? FixtureError("cluster not formed")
    }

    private static func start(count: Int, options: [String]) throws -> [RedisServer] {
        let base = Int.random(in: 20000...(55535 - count))
        var servers: [RedisServer] = []
        do {
            for index in 0..<count {
                servers.append(
                    try RedisServer(
                        port: base + index,
                        options: [
                            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                            "--cluster-node-timeout", "1000",
                        ] + options))
            }
        } catch {
            for server in servers { server.stop() }
            throw error
        }
        return servers
    }

    private static func waitForPing(_ node: HostPort) async throws {
        for _ in 0..<50 {
            let pong = try? await RedisClient.withClient(to: node) { try await $0.send([["PING"]])[0] }
            if pong == .simple("PONG") { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw FixtureError("redis-server at \(node) did not answer")
    }

    func stop() {
        for server in servers { server.stop() }
    }

    /// Kills one node (SIGKILL), as a crash would.
    func kill(_ node: HostPort) {
        servers.first { $0.address == node }?.stop()
    }

    /// Runs redis-cli with `arguments`; its standard output. Throws when it fails.
    @discardableResult
    static func cli(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.cliPath ?? "/usr/bin/redis-cli")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw FixtureError("redis-cli \(arguments) failed: \(text)") }
        return text
    }

    /// Sends one command to `node`; its reply.
    func send(_ node: HostPort, _ command: [String]) async throws -> RESPValue {
        try await RedisClient.withClient(to: node) { try await $0.send([command])[0] }
    }

    func sendAll(_ node: HostPort, _ commands: [[String]]) async throws -> [RESPValue] {
        try await RedisClient.withClient(to: node) { try await $0.send(commands) }
    }

    /// The topology as `node` reports it.
    func topology(from node: HostPort) async throws -> RedisClusterTopology {
        try RedisClusterTopology.parse(slotsReply: try await send(node, ["CLUSTER", "SLOTS"]), from: node)
    }

    func nodeID(_ node: HostPort) async throws -> String {
        guard let id = try await send(node, ["CLUSTER", "MYID"]).string else { throw FixtureError("no id for \(node)") }
        return id
    }

    /// Until every node is `cluster_state:ok`, all report the same slots with a full set of
    /// replicas whose links are up (or `timeout` passes).
    func waitUntilReady(timeout: Duration = .seconds(20)) async throws {
        let (live, replicas) = (addresses, replicasPerPrimary)
        let deadline = ContinuousClock.now + timeout
        var last = ""
        while ContinuousClock.now < deadline {
            do {
                if try await isReady(live: live, replicas: replicas) { return }
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw FixtureError("cluster not ready after \(timeout) \(last)")
    }

    private func isReady(live: [HostPort], replicas: Int) async throws -> Bool {
        var seen: RedisClusterTopology?
        for node in live {
            guard try await send(node, ["CLUSTER", "INFO"]).string?.contains("cluster_state:ok") == true else {
                return false
            }
            let topology = try await topology(from: node)
            guard topology.unservedSlots.isEmpty, topology.ranges.allSatisfy({ $0.replicas.count == replicas })
            else { return false }
            if let seen, seen != topology { return false }
            seen = topology
        }
        for replica in seen?.ranges.flatMap(\.replicas) ?? [] {
            let info = try await send(replica, ["INFO", "replication"]).string ?? ""
            guard info.contains("master_link_status:up") else { return false }
        }
        return true
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
