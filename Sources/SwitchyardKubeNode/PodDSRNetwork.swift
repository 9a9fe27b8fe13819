import Foundation
import Logging
import SwitchyardCore
import SwitchyardDatapath
import SwitchyardKubernetes

/// The real `PodNetwork`: finds the pod's network namespace by its address (`PodNamespaceFinder`) and sets
/// it up with `PodDSR` (Service addresses on `lo`, decap and port mapping on tc, rp_filter, MSS).
public struct PodDSRNetwork: PodNetwork {
    public var namespaceDirectory: String
    public var namePrefix: String?
    public var pinDirectory: String
    public var guePort: UInt16?
    public var pathMTU: Int
    let logger: Logger

    public init(
        namespaceDirectory: String, namePrefix: String?, pinDirectory: String, guePort: UInt16?, pathMTU: Int,
        logger: Logger
    ) {
        self.namespaceDirectory = namespaceDirectory
        self.namePrefix = namePrefix
        self.pinDirectory = pinDirectory
        self.guePort = guePort
        self.pathMTU = pathMTU
        self.logger = logger
    }

    public struct PodNetworkError: Error, CustomStringConvertible {
        public var description: String
    }

    func namespace(of pod: IPAddress) throws -> String? {
        try PodNamespaceFinder.find(address: pod, directory: namespaceDirectory, namePrefix: namePrefix)
    }

    func dsrPlan(_ plan: PodPlan, namespacePath: String) -> PodDSR.Plan {
        PodDSR.Plan(
            namespacePath: namespacePath, podAddress: plan.podAddress, addresses: plan.addresses,
            mappings: plan.mappings, guePort: guePort, pathMTU: pathMTU, pinDirectory: pinDirectory)
    }

    public func apply(_ plan: PodPlan, previous: PodPlan?) throws {
        guard let path = try namespace(of: plan.podAddress) else {
            throw PodNetworkError(
                description: "no network namespace in \(namespaceDirectory) holds pod address \(plan.podAddress) "
                    + "(not wired by the CNI yet, or on another node)")
        }
        let outcome = try run(PodDSRRequest(.apply, dsrPlan(plan, namespacePath: path)))
        for warning in outcome.warnings {
            logger.warning("pod setup", metadata: ["pod": "\(plan.podAddress)", "warning": "\(warning)"])
        }
        if !outcome.changes.isEmpty {
            logger.debug(
                "pod changes",
                metadata: ["pod": "\(plan.podAddress)", "changes": "\(outcome.changes.joined(separator: "; "))"])
        }
    }

    public func remove(_ plan: PodPlan) throws {
        // A pod whose namespace is gone took its addresses and programs with it; only its pins are left.
        guard let path = try namespace(of: plan.podAddress) else {
            for pins in removeStalePins() {
                logger.info("pins of a gone pod removed", metadata: ["pod": "\(plan.podAddress)", "pins": "\(pins)"])
            }
            return
        }
        _ = try run(PodDSRRequest(.remove, dsrPlan(plan, namespacePath: path)))
    }

    /// This binary's `pod-dsr` with the request on stdin (see `PodDSRRequest` for why a child process).
    func run(_ request: PodDSRRequest) throws -> PodDSRRequest.Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["pod-dsr"]
        let input = Pipe()
        let output = Pipe()
        let errorPath = NSTemporaryDirectory() + "switchyard-pod-dsr-\(getpid())-\(UUID().uuidString.prefix(8)).err"
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errorPath) }
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: errorPath)
        try process.run()
        try input.fileHandleForWriting.write(contentsOf: JSONEncoder().encode(request))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
            throw PodNetworkError(
                description: "pod-dsr \(request.operation.rawValue) in \(request.namespacePath) failed: "
                    + text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return try JSONDecoder().decode(PodDSRRequest.Outcome.self, from: data)
    }

    /// This very binary (argv[0] may be relative or a symlink).
    static let executable: String =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]

    /// Pins of pods deleted while no agent ran.
    public func removeStalePins() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: namespaceDirectory)) ?? []
        let live = names.filter { namePrefix.map($0.hasPrefix) ?? true }.map { "\(namespaceDirectory)/\($0)" }
        return PodDSR.unpinStale(pinDirectory: pinDirectory, liveNamespacePaths: live)
    }
}
