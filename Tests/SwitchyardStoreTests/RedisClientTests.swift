import Foundation
import NIOCore
import SwitchyardCore
import Testing

@testable import SwitchyardStore

/// A real redis-server on loopback, started for the test and stopped after. It must not inherit
/// the test runner's descriptors above 2 (the runner waits for those to close, so an inherited
/// one hangs the run at exit): a shell closes them all before exec'ing the daemon.
final class RedisServer: @unchecked Sendable {
    let port: Int
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sy-redis-\(UUID().uuidString)")
    var pidFile: String { dir.appendingPathComponent("redis.pid").path }

    static var binary: String? {
        ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    var address: HostPort { HostPort("127.0.0.1:\(port)")! }

    /// `configFile`: a configuration file to start from (a sentinel's: then `options` holds
    /// `--sentinel`).
    init(
        password: String? = nil, port: Int = TestPorts.server(), options: [String] = [],
        configFile: String? = nil
    ) throws {
        self.port = port
        _ = Self.sweep
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "\(getpid())".write(to: dir.appendingPathComponent("owner"), atomically: true, encoding: .utf8)
        let start = Process()
        start.executableURL = URL(fileURLWithPath: "/bin/bash")
        let arguments =
            [
                "--port", "\(port)", "--bind", "127.0.0.1", "--save", "''", "--appendonly", "no", "--dir", dir.path,
                "--daemonize", "yes", "--pidfile", pidFile, "--logfile", dir.appendingPathComponent("log").path,
            ]
            + (password.map { ["--requirepass", $0] } ?? []) + options
        start.arguments = [
            "-c",
            "for fd in /proc/$$/fd/*; do n=${fd##*/}; [ \"$n\" -gt 2 ] && eval \"exec $n>&-\"; done; "
                + "exec \(Self.binary!) \(([configFile].compactMap { $0 } + arguments).joined(separator: " "))",
        ]
        start.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        start.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        start.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try start.run()
        start.waitUntilExit()
        for _ in 0..<100 {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = UInt16(port).bigEndian
            a.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            let ok =
                withUnsafePointer(to: &a) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                } == 0
            close(s)
            if ok { return }
            usleep(20_000)
        }
    }

    /// Sends `signal` to the server (SIGSTOP: it stops answering but the kernel still accepts
    /// and acknowledges — a hung server, or a path that drops replies).
    func signal(_ signal: Int32) {
        if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            kill(pid, signal)
        }
    }

    func stop() {
        if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            kill(pid, SIGKILL)
            for _ in 0..<100 where kill(pid, 0) == 0 { usleep(10_000) }
        }
        try? FileManager.default.removeItem(at: dir)
    }

    deinit { stop() }

    /// The server is a daemon: a test process killed from outside (a `timeout`) never stops it.
    /// Once per process, servers whose owning test process is gone are stopped and their
    /// directories removed (a server of a test run still going is left alone).
    static let sweep: Void = {
        let files = FileManager.default
        let tmp = files.temporaryDirectory
        for name in (try? files.contentsOfDirectory(atPath: tmp.path)) ?? [] where name.hasPrefix("sy-redis-") {
            let dir = tmp.appendingPathComponent(name)
            func number(_ file: String) -> Int32? {
                (try? String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)).flatMap {
                    Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
                }
            }
            if let owner = number("owner"), kill(owner, 0) == 0 { continue }
            if let pid = number("redis.pid"),
                let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
                command.contains("redis")
            {
                kill(pid, SIGKILL)
            }
            try? files.removeItem(at: dir)
        }
    }()
}

@Suite(
    .enabled(
        if: RedisServer.binary != nil, "skipped: redis-server is not installed (scripts/install-deps.sh installs it)"),
    .serialized)
struct RedisClientTests {
    @Test func pipelinedCommandsAnswerInOrder() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        try await RedisClient.withClient(to: server.address) { client in
            let replies = try await client.send([
                ["SET", "a", "1"], ["INCR", "a"], ["GET", "a"], ["GET", "missing"],
                ["BOGUS"],
            ])
            #expect(replies[0] == .simple("OK"))
            #expect(replies[1] == .integer(2))
            #expect(replies[2].string == "2")
            #expect(replies[3] == .bulk(nil))
            #expect(replies[4].redisError?.kind == .other)
            #expect(replies[4].redisError?.message.contains("unknown command") == true)
            // A large batch in one write.
            let many = try await client.send((0..<5000).map { ["SET", "k\($0)", "v\($0)"] })
            #expect(many.allSatisfy { $0 == .simple("OK") })
            #expect(try await client.send([["DBSIZE"]]) == [.integer(5001)])
        }
    }

    @Test func authWithPasswordAndRefusal() async throws {
        let server = try RedisServer(password: "s3cret")
        defer { server.stop() }
        let right = RedisCredentials(password: "s3cret")
        let wrong = RedisCredentials(password: "wrong")
        let pong = try await RedisClient.withClient(
            to: server.address, options: RedisConnectionOptions(credentials: right)
        ) { client in
            try await client.send([["PING"]])
        }
        #expect(pong == [.simple("PONG")])
        try await RedisClient.withClient(to: server.address, options: RedisConnectionOptions(credentials: wrong)) {
            client in
            await #expect { _ = try await client.send([["PING"]]) } throws: { ($0 as? RedisError)?.kind == .wrongPass }
            // Every request on a connection that failed to authenticate meets the same refusal.
            await #expect { _ = try await client.send([["PING"]]) } throws: { ($0 as? RedisError)?.kind == .wrongPass }
        }
        // No credentials at all: each command is refused, and the connection is dropped for a fresh one.
        let refusals = try await RedisClient.withClient(to: server.address) { client in
            [try await client.send([["PING"]]), try await client.send([["PING"]])]
        }
        #expect(refusals.map { $0.first?.redisError?.kind } == [.noAuth, .noAuth])
    }

    /// The subscription is confirmed before the body runs, so the first message published from
    /// inside it arrives; messages come in publish order.
    @Test func publishReachesSubscribers() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        try await RedisClient.withClient(to: server.address) { client in
            func channel(_ i: Int) -> String { i % 2 == 0 ? "sy:test" : "sy:other" }
            let channels = [channel(0), channel(1)]
            let received = try await RedisClient.subscribe(to: server.address, channels: channels) { messages in
                for i in 0..<50 { _ = try await client.send([["PUBLISH", channel(i), "m\(i)"]]) }
                var received: [RedisMessage] = []
                for try await batch in messages {
                    received += batch
                    if received.count == 50 { break }
                }
                return received
            }
            #expect(received.map(\.message) == (0..<50).map { "m\($0)" })
            #expect(received.enumerated().allSatisfy { $1.channel == channel($0) })
            // The subscription's connection is closed once its body returns.
            #expect(try await clientCount(client) == 1)
        }
    }

    @Test func aSubscriptionTheServerRefusesThrowsTheReason() async throws {
        let server = try RedisServer(password: "admin")
        defer { server.stop() }
        let quiet = RedisCredentials(user: "quiet", password: "pw")
        let wrong = RedisCredentials(user: "quiet", password: "no")
        let admin = RedisCredentials(password: "admin")
        try await RedisClient.withClient(to: server.address, options: RedisConnectionOptions(credentials: admin)) {
            admin in
            _ = try await admin.send([["ACL", "SETUSER", "quiet", "on", ">pw", "~*", "resetchannels", "+@all"]])
        }
        await #expect {
            try await RedisClient.subscribe(
                to: server.address, options: RedisConnectionOptions(credentials: quiet), channels: ["sy:flows"]
            ) { _ in }
        } throws: { ($0 as? RedisError)?.kind == .noPermission }
        await #expect {
            try await RedisClient.subscribe(
                to: server.address, options: RedisConnectionOptions(credentials: wrong), channels: ["sy:flows"]
            ) { _ in }
        } throws: { ($0 as? RedisError)?.kind == .wrongPass }
    }

    @Test func aDeadServerFailsRequestsClearlyAndTheNextRequestReconnects() async throws {
        let server = try RedisServer()
        try await RedisClient.withClient(to: server.address) { client in
            #expect(try await client.send([["SET", "k", "1"]]) == [.simple("OK")])
            server.stop()
            try await Task.sleep(for: .milliseconds(100))
            await #expect(throws: (any Error).self) { _ = try await client.send([["PING"]]) }
            await #expect(throws: (any Error).self) { _ = try await client.send([["PING"]]) }
            let again = try RedisServer(port: server.port)
            defer { again.stop() }
            #expect(try await client.send([["PING"]]) == [.simple("PONG")])
        }
    }

    /// A server that stops answering (no RST, no FIN) fails the request after the reply timeout,
    /// not never: the flow-sync queue would otherwise wait on one batch for good.
    @Test func aHungServerFailsTheRequestAfterTheReplyTimeout() async throws {
        let server = try RedisServer()
        defer {
            server.signal(SIGCONT)
            server.stop()
        }
        let options = RedisConnectionOptions(replyTimeout: .milliseconds(300))
        try await RedisClient.withClient(to: server.address, options: options) {
            (client: RedisClient) async throws -> Void in
            #expect(try await client.send([["PING"]]) == [.simple("PONG")])
            server.signal(SIGSTOP)
            let started = ContinuousClock.now
            await #expect(throws: RedisClientError.replyTimeout(server.address, .milliseconds(300))) {
                _ = try await client.send([["SET", "k", "1"]])
            }
            #expect(ContinuousClock.now - started < .seconds(3))
            server.signal(SIGCONT)
            #expect(try await client.send([["PING"]]) == [.simple("PONG")], "the next request connects anew")
        }
    }

    /// A subscription only reads: without keepalive a server that vanished without FIN or RST
    /// would leave it waiting for hours. Its socket probes after 5 s of silence, 3 × 2 s.
    @Test func storeConnectionsKeepAlive() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        let settings = try await RedisClient.subscribe(to: server.address, channels: ["sy:flows"]) { subscription in
            let channel = subscription.channel
            let tcp = SocketOptionLevel(IPPROTO_TCP)
            return try await [
                channel.getOption(.socketOption(.so_keepalive)).get(),
                channel.getOption(ChannelOptions.Types.SocketOption(level: tcp, name: TCP_KEEPIDLE)).get(),
                channel.getOption(ChannelOptions.Types.SocketOption(level: tcp, name: TCP_KEEPINTVL)).get(),
                channel.getOption(ChannelOptions.Types.SocketOption(level: tcp, name: TCP_KEEPCNT)).get(),
            ]
        }
        #expect(settings == [1, 5, 2, 3])
    }

    /// `close()` ends `run()` after the queued requests; later requests fail at once.
    @Test func closeEndsRunAndLaterRequestsFail() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        let client = RedisClient(address: server.address)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            #expect(try await client.send([["PING"]]) == [.simple("PONG")])
            client.close()
            try await group.waitForAll()
        }
        await #expect(throws: RedisClientError.closed(server.address)) { _ = try await client.send([["PING"]]) }
        await #expect(throws: RedisClientError.alreadyRunning(server.address)) { try await client.run() }
    }

    /// Cancelling the task group that runs the client closes its connection.
    @Test func cancellingRunClosesTheConnection() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        let client = RedisClient(address: server.address)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            let pong = try await client.send([["PING"]])
            #expect(pong == [.simple("PONG")])
            group.cancelAll()
        }
        let open = try await RedisClient.withClient(to: server.address) { observer in try await clientCount(observer) }
        #expect(open == 1, "the cancelled client's connection is still open")
    }
}

/// Connections the server has open (the asking one included), once closes have landed.
func clientCount(_ client: RedisClient) async throws -> Int {
    var count = 0
    for _ in 0..<50 {
        let list = try await client.send([["CLIENT", "LIST"]])[0].string ?? ""
        count = list.split(whereSeparator: \.isNewline).count
        if count == 1 { break }
        try await Task.sleep(for: .milliseconds(20))
    }
    return count
}
