import Foundation

/// What the interop suites need from the machine, and the one way they run a command.
enum InteropEnvironment {
    static let birdBinaries = ["/usr/sbin/bird", "/usr/sbin/birdc"]
    static let frrBinaries = ["/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "/usr/bin/vtysh"]

    /// Why the suites cannot run here, or nil when they can: root, iproute2 with netns support,
    /// and the router binaries.
    static func missing(_ binaries: [String]) -> String? {
        guard getuid() == 0 else { return "needs root (network namespaces and BGP routers); run with sudo" }
        for binary in ["/usr/sbin/ip", "/usr/bin/ip"] where FileManager.default.isExecutableFile(atPath: binary) {
            let absent = binaries.filter { !FileManager.default.isExecutableFile(atPath: $0) }
            guard absent.isEmpty else { return "router binaries missing: \(absent.joined(separator: ", "))" }
            guard (try? run(["ip", "netns", "list"])) != nil else { return "`ip netns` does not work here" }
            return nil
        }
        return "iproute2 (`ip`) not found"
    }

    struct CommandFailed: Error, CustomStringConvertible {
        var command: [String]
        var status: Int32
        var output: String
        var description: String { "`\(command.joined(separator: " "))` exited \(status): \(output)" }
    }

    private static func process(_ command: [String]) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin:" + (environment["PATH"] ?? "")
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        return process
    }

    /// Runs `command` (looked up on PATH) and returns its standard output; throws with both
    /// outputs when it exits non-zero. Never for a command that daemonises: the daemon inherits
    /// the pipes (and Foundation's exit watch), so this would wait for the daemon.
    @discardableResult
    static func run(_ command: [String]) throws -> String {
        let process = process(command)
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: out, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw CommandFailed(
                command: command, status: process.terminationStatus,
                output: text + String(decoding: err, as: UTF8.self))
        }
        return text
    }

    /// Starts a router daemon in the foreground as our child, output appended to `log`, so its
    /// life is ours: `stopDaemon` ends it and reaps it.
    static func startDaemon(_ command: [String], log: URL) throws -> Process {
        let process = process(command)
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// SIGKILL: the daemon inherits this process's blocked signals (SIGTERM among them, from the
    /// runtime's threads) and BIRD does not unblock them, so only a signal that cannot be blocked
    /// ends it reliably. Its leftovers are in the lab's work directory, removed with the lab.
    static func stopDaemon(_ process: Process) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Polls `condition` every 100 ms until it holds or `timeout` passes; returns whether it held.
    static func eventually(
        within timeout: Duration = .seconds(15), _ condition: () async throws -> Bool
    ) async rethrows -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }
}
