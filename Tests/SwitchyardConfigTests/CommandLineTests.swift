import Foundation
import Testing

let switchyardBinary = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../.build/debug/switchyard").standardized.path

/// The built `switchyard` binary, run as an operator would: runtime failures print one line on
/// stderr and exit 1; only argument-parsing errors print usage and exit 64. Skipped when the
/// binary has not been built (`swift build`).
@Suite(
    .enabled(
        if: FileManager.default.isExecutableFile(atPath: switchyardBinary),
        "needs .build/debug/switchyard (run swift build)"))
struct CommandLineTests {

    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
        var stderrLines: [Substring] { stderr.split(separator: "\n") }
    }

    static func run(_ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: switchyardBinary)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func missingPath(_ suffix: String) -> String {
        NSTemporaryDirectory() + "switchyard-test-\(UInt32.random(in: 0...UInt32.max))-\(suffix)"
    }

    @Test(arguments: [
        (["status", "--socket", missingPath("admin.sock")], "cannot reach the agent at "),
        (["maglev", "--backends", "3", "--weights", "1,x"], "--weights: 'x' is not a weight"),
        (["lab", "scenario", "no-such-scenario"], "unknown scenario 'no-such-scenario'; expected one of lb-remove"),
        (["lab", "down", "--id", "nosuch"], "no lab with id 'nosuch' exists"),
    ])
    func runtimeErrorsAreOneLineAndExit1(_ arguments: [String], _ message: String) throws {
        let outcome = try Self.run(arguments)
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.stderrLines.count == 1, "the error alone, no usage: \(outcome.stderr)")
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("Usage:") && !outcome.stdout.contains("removed"))
    }

    @Test func argumentErrorsStillShowUsage() throws {
        let outcome = try Self.run(["maglev", "--backends", "0"])
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains("Usage: switchyard maglev"))
    }

    @Test func validateNamesTheMissingFile() throws {
        let path = Self.missingPath("config.yaml")
        let outcome = try Self.run(["validate", path])
        #expect(outcome.status == 1)
        #expect(outcome.stderrLines.first == "\(path): file: cannot be read: no such file or directory"[...])
    }

    @Test func validateReportsEveryErrorOfTheBadExample() throws {
        let outcome = try Self.run(["validate", ConfigLoaderTests.examples.appendingPathComponent("bad.yaml").path])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("bad.yaml:39: services[3].guePort: GUE port clash"), "\(outcome.stderr)")
        #expect(outcome.stderrLines.last?.hasSuffix("13 errors; nothing applied") == true, "\(outcome.stderr)")
    }

    @Test func versionIsPrinted() throws {
        let outcome = try Self.run(["--version"])
        #expect(outcome.status == 0)
        let version = outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(version.split(separator: ".").count == 3, "\(outcome)")
        #expect(version.allSatisfy { $0.isNumber || $0 == "." }, "\(outcome)")
    }
}
