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

    public struct NotFound: Error, CustomStringConvertible {
        public var description: String
    }

    func namespace(of pod: IPAddress) throws -> String? {
        try PodNamespaceFinder.find(address: pod, directory: namespaceDirectory, namePrefix: namePrefix)
    }

    func dsrPlan(_ plan: PodPlan, namespacePath: String) -> PodDSR.Plan {
        PodDSR.Plan(
            namespacePath: namespacePath, podAddress: plan.podAddress, addresses: plan.addresses,
            mappings: plan.mappings.map {
                DecapPortMapping(vip: $0.address, proto: $0.proto, servicePort: $0.servicePort, targetPort: $0.targetPort)
            }, guePort: guePort, pathMTU: pathMTU, pinDirectory: pinDirectory)
    }

    public func apply(_ plan: PodPlan, previous: PodPlan?) throws {
        guard let path = try namespace(of: plan.podAddress) else {
            throw NotFound(
                description: "no network namespace in \(namespaceDirectory) holds pod address \(plan.podAddress) "
                    + "(not wired by the CNI yet, or on another node)")
        }
        let applied = try PodDSR.apply(dsrPlan(plan, namespacePath: path))
        for warning in applied.warnings {
            logger.warning("pod setup", metadata: ["pod": "\(plan.podAddress)", "warning": "\(warning)"])
        }
        if !applied.changes.isEmpty {
            logger.debug(
                "pod changes", metadata: ["pod": "\(plan.podAddress)", "changes": "\(applied.changes.joined(separator: "; "))"])
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
        try PodDSR.remove(dsrPlan(plan, namespacePath: path))
    }

    /// Pins of pods deleted while no agent ran.
    public func removeStalePins() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: namespaceDirectory)) ?? []
        let live = names.filter { namePrefix.map($0.hasPrefix) ?? true }.map { "\(namespaceDirectory)/\($0)" }
        return PodDSR.unpinStale(pinDirectory: pinDirectory, liveNamespacePaths: live)
    }
}
