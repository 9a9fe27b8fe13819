import Foundation

/// `switchyard controller` (the binary built beside the test bundle) as a child process against a
/// test API server, with short lease timings so takeovers happen in seconds.
final class ControllerProcess: @unchecked Sendable {
    let process = Process()
    let log: String

    static let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("switchyard").path

    init(server: TestAPIServer, identity: String, extra: [String] = []) throws {
        log = "\(server.stateDirectory)/controller-\(identity).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments =
            [
                "controller", "--kubeconfig", server.kubeconfig, "--identity", identity, "--lease-duration", "2",
                "--renew-deadline", "1.5", "--retry-period", "0.25", "--metrics", "",
            ] + extra
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// When this instance wrote a Service status (from its log lines).
    var statusWriteTimes: [Date] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return output.split(separator: "\n").filter { $0.contains("service status written") }
            .compactMap { line in line.split(separator: " ").first.flatMap { formatter.date(from: String($0)) } }
    }

    /// SIGKILL: no release, no goodbye — as a node dying.
    func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM: steps down and releases the lease.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<60 where process.isRunning { usleep(50_000) }
        kill9()
    }

    deinit { kill9() }
}
