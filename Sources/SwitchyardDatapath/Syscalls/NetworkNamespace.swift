import CLibbpf
import Foundation
import Glibc

/// A network namespace this process made (`ip netns add`), named with a unique prefix so runs
/// cannot collide, and removed — its processes killed first — on `delete()` or deinit.
/// Nothing here touches the host namespace's addresses or routes.
public final class NetworkNamespace: @unchecked Sendable {
    public let name: String
    private var deleted = false
    /// Whether deinit deletes the namespace (tests own theirs; the lab manages its own).
    private let owned: Bool

    public struct CommandError: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// A new namespace named `prefix-pid-random`, deleted when this object goes.
    public init(prefix: String) throws {
        name = "\(prefix)-\(getpid())-\(UInt32.random(in: 0...0xffff_ffff) % 100_000)"
        owned = true
        try Self.ip(["netns", "add", name])
        try exec(["ip", "link", "set", "lo", "up"])
    }

    /// A new namespace with exactly this name (the caller made it unique and deletes it).
    public init(exactName: String) throws {
        name = exactName
        owned = false
        try Self.ip(["netns", "add", name])
        try exec(["ip", "link", "set", "lo", "up"])
    }

    /// A handle on a namespace that exists; not deleted with the handle.
    public init(existingName: String) {
        name = existingName
        owned = false
    }

    /// Deletes a namespace by name, killing what runs in it (for teardown after a crash).
    public static func delete(named name: String) {
        NetworkNamespace(existingName: name).delete()
    }

    /// Lab namespaces currently present whose names start with `prefix`.
    public static func list(prefix: String) -> [String] {
        ((try? ip(["netns", "list"])) ?? "").split(separator: "\n")
            .compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0.hasPrefix(prefix) }
    }

    /// Runs a command on the host (argv, no shell); throws with its stderr on failure.
    @discardableResult
    public static func ip(_ args: [String]) throws -> String { try run(["ip"] + args) }

    @discardableResult
    public static func run(_ argv: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let error = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandError(
                description:
                    "\(argv.joined(separator: " ")): exit \(process.terminationStatus): "
                    + "\(String(decoding: error, as: UTF8.self))"
            )
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Runs a command inside the namespace.
    @discardableResult
    public func exec(_ argv: [String]) throws -> String {
        try Self.run(["ip", "netns", "exec", name] + argv)
    }

    /// Runs `body` on this thread with the thread inside the namespace, then moves it back.
    /// setns is per thread: keep `body` synchronous.
    public func inside<T>(_ body: () throws -> T) throws -> T {
        try Self.inside(path: "/run/netns/\(name)", body)
    }

    /// Runs `body` on this thread inside the namespace at `path` (a bind-mounted netns file or
    /// /proc/PID/ns/net), then moves the thread back. setns is per thread: `body` must not
    /// suspend or hop threads; processes it spawns inherit the namespace. Needs CAP_SYS_ADMIN.
    /// CLONE_NEWNET (<sched.h>; Glibc does not export it to Swift).
    static let newNet: Int32 = 0x4000_0000

    public static func inside<T>(path: String, _ body: () throws -> T) throws -> T {
        let home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard home >= 0 else { throw BPFError("open own netns", errno: errno) }
        defer { close(home) }
        let target = open(path, O_RDONLY | O_CLOEXEC)
        guard target >= 0 else { throw BPFError("open netns \(path)", errno: errno) }
        defer { close(target) }
        try BPFError.check(setns(target, Self.newNet), "enter netns \(path)")
        defer {
            // Failing to return would leave this thread (a pool's) in the pod: nothing may run on.
            if setns(home, Self.newNet) != 0 { fatalError("could not return from netns \(path): errno \(errno)") }
        }
        return try body()
    }

    /// Kills what runs inside, then deletes the namespace. Idempotent.
    public func delete() {
        guard !deleted else { return }
        deleted = true
        for _ in 0..<50 {
            let pids =
                (try? Self.ip(["netns", "pids", name]))?.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
                ?? []
            if pids.isEmpty { break }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(20_000)
        }
        _ = try? Self.ip(["netns", "del", name])
    }

    deinit { if owned { delete() } }
}
