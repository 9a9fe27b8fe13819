import Foundation
import Logging
import SwitchyardKubeClient
import SwitchyardKubernetes

/// The test Kubernetes API server (Tests/kubernetes/apiserver, Python — test support code, not
/// product code) as a child process: HTTPS with its own CA, a bearer token, kubeconfigs written
/// into a fresh state directory. `with` always stops it, even when the body throws.
final class TestAPIServer: Sendable {
    let stateDirectory: String
    let url: String
    let venv: String
    private let process: Process

    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    var kubeconfig: String { "\(stateDirectory)/kubeconfig" }
    var certificateKubeconfig: String { "\(stateDirectory)/kubeconfig-cert" }
    var token: String {
        (try? String(contentsOfFile: "\(stateDirectory)/token", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    /// The venv of scripts/py-env.sh (made on first use: the Python client, kubectl, schemas).
    static func pythonEnvironment() throws -> String {
        let output = try run("\(repository)/scripts/py-env.sh", [])
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private init(arguments: [String]) throws {
        venv = try Self.pythonEnvironment()
        stateDirectory = NSTemporaryDirectory() + "sy-kube-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let log = "\(stateDirectory)/server.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "\(venv)/bin/python")
        process.arguments = ["-m", "apiserver", "--state-dir", stateDirectory] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: "\(Self.repository)/Tests/kubernetes")
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: "\(stateDirectory)/server.err")
        try process.run()
        var ready: String?
        for _ in 0..<300 where ready == nil && process.isRunning {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            ready = text.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }).map { String($0.dropFirst(6)) }
            if ready == nil { usleep(50_000) }
        }
        guard let ready else {
            process.terminate()
            let errors = (try? String(contentsOfFile: "\(stateDirectory)/server.err", encoding: .utf8)) ?? ""
            throw TestServerError("the test API server did not start: \(errors.suffix(2000))")
        }
        url = ready
    }

    static func with<T>(
        _ arguments: [String] = ["--bookmark-interval", "0.5"], _ body: (TestAPIServer) async throws -> T
    ) async throws -> T {
        let server = try TestAPIServer(arguments: arguments)
        do {
            let result = try await body(server)
            server.stop()
            return result
        } catch {
            server.stop()
            throw error
        }
    }

    /// SIGTERM, then SIGKILL if it has not gone within 1 s (a stuck server must not hang the suite).
    func stop() {
        if process.isRunning {
            process.terminate()
            for _ in 0..<20 where process.isRunning { usleep(50_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }

    func client(certificate: Bool = false) throws -> KubeClient {
        try KubeClient(
            connection: try Kubeconfig.load(path: certificate ? certificateKubeconfig : kubeconfig).connection())
    }

    /// `POST /testing/compact` or `/testing/close-watches`.
    func testing(_ what: String) throws {
        _ = try Self.run(
            "/usr/bin/curl",
            [
                "-sS", "--fail", "--cacert", "\(stateDirectory)/ca.crt", "-X", "POST",
                "-H", "Authorization: Bearer \(token)", "\(url)/testing/\(what)",
            ])
    }

    /// kubectl v1.37 from the venv against this server.
    @discardableResult
    func kubectl(_ arguments: [String]) throws -> String {
        try Self.run("\(venv)/bin/kubectl", ["--kubeconfig", kubeconfig] + arguments)
    }

    /// The Python `kubernetes` client running `script` with `KUBECONFIG` set; returns its stdout.
    @discardableResult
    func python(_ script: String) throws -> String {
        try Self.run("\(venv)/bin/python", ["-c", script], environment: ["KUBECONFIG": kubeconfig])
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        // stderr to a file: two pipes read one after the other can deadlock on a chatty child.
        let errorPath = NSTemporaryDirectory() + "sy-run-\(UUID().uuidString.prefix(8)).err"
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errorPath) }
        process.standardOutput = out
        process.standardError = FileHandle(forWritingAtPath: errorPath)
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errors = FileManager.default.contents(atPath: errorPath) ?? Data()
        guard process.terminationStatus == 0 else {
            throw TestServerError(
                "\(executable) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): "
                    + String(decoding: errors, as: UTF8.self))
        }
        return String(decoding: output, as: UTF8.self)
    }
}

struct TestServerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
