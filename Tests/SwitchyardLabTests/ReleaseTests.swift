import Foundation
import Testing

/// What an operator installs: the release binary (no Swift toolchain on the host) and the
/// systemd units under deploy/.
enum ReleaseProbe {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let binary = root.appendingPathComponent("dist/switchyard").path
    static var built: Bool { FileManager.default.isExecutableFile(atPath: binary) }
    static let notBuilt = Comment(
        rawValue: "skipped: no \(binary); scripts/release.sh builds it (scripts/test.sh does)")

    /// Runs `argv`, returning its exit status and everything it printed.
    static func run(_ argv: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

struct ReleaseTests {
    @Test(.enabled(if: ReleaseProbe.built, ReleaseProbe.notBuilt))
    func releaseBinaryNeedsNoSwiftLibrary() throws {
        let ldd = try ReleaseProbe.run(["ldd", ReleaseProbe.binary])
        #expect(ldd.status == 0, "\(ldd.output)")
        let libraries = ldd.output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(!libraries.isEmpty)
        for line in libraries {
            for swiftish in ["swift", "Foundation", "dispatch", "icu"] {
                #expect(!line.localizedCaseInsensitiveContains(swiftish), "needs a Swift library: \(line)")
            }
        }
        let version = try ReleaseProbe.run([ReleaseProbe.binary, "--version"])
        #expect(version.status == 0 && !version.output.isEmpty, "\(version.output)")
    }

    /// systemd's own checker accepts both units (with the binary where the unit expects it).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")))
    func systemdUnitsVerify() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-units-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let executable = ProcessInfo.processInfo.arguments[0]
        for unit in ["switchyard-agent.service", "switchyard-backend@.service"] {
            let text = try String(
                contentsOf: ReleaseProbe.root.appendingPathComponent("deploy/\(unit)"), encoding: .utf8)
            #expect(text.contains("/usr/local/bin/switchyard"))
            let target = scratch.appendingPathComponent(unit.replacingOccurrences(of: "@.", with: "@test."))
            try text.replacingOccurrences(of: "/usr/local/bin/switchyard", with: executable)
                .write(to: target, atomically: true, encoding: .utf8)
            let verify = try ReleaseProbe.run(["systemd-analyze", "verify", target.path])
            #expect(verify.status == 0 && verify.output.isEmpty, "\(unit): \(verify.output)")
        }
    }
}
