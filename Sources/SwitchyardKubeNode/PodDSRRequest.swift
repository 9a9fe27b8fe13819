import Foundation
import SwitchyardCore
import SwitchyardDatapath

/// One pod's setup or cleanup, as the endpoint agent hands it to `switchyard pod-dsr` (a child process).
///
/// Why a child: entering a pod's namespace is per thread, and a thread that creates another — Foundation
/// spawning `ip`, Dispatch growing its pool — hands the pod's namespace to the new thread, which then lives
/// on in the agent, keeping the pod's namespace (and its veth) alive after the pod is deleted and running
/// later work inside it. Seen in the lab: agent threads still in deleted pods' namespaces. A child process
/// takes every such thread with it when it exits.
public struct PodDSRRequest: Codable, Sendable, Equatable {
    public enum Operation: String, Codable, Sendable {
        case apply, remove
    }

    public struct Mapping: Codable, Sendable, Equatable {
        public var vip: String
        public var proto: String
        public var servicePort: UInt16
        public var targetPort: UInt16
    }

    public var operation: Operation
    public var namespacePath: String
    public var podAddress: String
    public var addresses: [String]
    public var mappings: [Mapping]
    public var guePort: UInt16?
    public var pathMTU: Int
    public var pinDirectory: String

    public init(_ operation: Operation, _ plan: PodDSR.Plan) {
        self.operation = operation
        namespacePath = plan.namespacePath
        podAddress = plan.podAddress.description
        addresses = plan.addresses.map(\.description)
        mappings = plan.mappings.map {
            Mapping(
                vip: $0.vip.description, proto: "\($0.proto)", servicePort: $0.servicePort, targetPort: $0.targetPort)
        }
        guePort = plan.guePort
        pathMTU = plan.pathMTU
        pinDirectory = plan.pinDirectory
    }

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// The plan, or what in the request is not an address or protocol.
    public func plan() throws -> PodDSR.Plan {
        func address(_ text: String) throws -> IPAddress {
            guard let parsed = IPAddress(text) else { throw Invalid(description: "\"\(text)\" is not an IP address") }
            return parsed
        }
        let mapped = try mappings.map { m -> DecapPortMapping in
            guard let proto = L4Protocol(name: m.proto) else {
                throw Invalid(description: "\"\(m.proto)\" is not tcp or udp")
            }
            return DecapPortMapping(
                vip: try address(m.vip), proto: proto, servicePort: m.servicePort, targetPort: m.targetPort)
        }
        return PodDSR.Plan(
            namespacePath: namespacePath, podAddress: try address(podAddress), addresses: try addresses.map(address),
            mappings: mapped, guePort: guePort, pathMTU: pathMTU, pinDirectory: pinDirectory)
    }

    /// What the child reports on stdout.
    public struct Outcome: Codable, Sendable {
        public var changes: [String]
        public var warnings: [String]

        public init(changes: [String], warnings: [String]) {
            self.changes = changes
            self.warnings = warnings
        }
    }
}
