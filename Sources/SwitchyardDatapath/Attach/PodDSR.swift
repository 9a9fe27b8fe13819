import Foundation
import Glibc
import SwitchyardCore

/// A pod as a DSR backend (the Coil proposal's model): the LB encapsulates to the pod's own
/// address; inside the pod's network namespace the decap program strips the tunnel (tc ingress),
/// maps the service port to the pod's target port, the Service addresses sit on lo, and the pod
/// answers the client directly, `switchyard_pod_egress` (tc egress) mapping the reply's port back.
///
/// Everything happens with the calling thread moved into the namespace by its path (setns,
/// synchronously; the thread is moved back before returning), so it needs CAP_SYS_ADMIN (setns),
/// CAP_NET_ADMIN (tc, addresses, rules, sysctls) and CAP_BPF/CAP_SYS_ADMIN (programs, pins), plus
/// `ip` (iproute2, JSON output) on the PATH. Call it from a thread that may block: each call
/// runs a few `ip` processes.
///
/// Pins: the programs and maps of one pod live in `<pinDirectory>/<sanitised netns name>`
/// (`pinPath(namespacePath:pinDirectory:)`), so a restarted agent re-uses them and replaces
/// nothing; `remove` (or `unpinStale` for pods that went while no agent ran) deletes them.
///
/// The Service addresses this manages are recognised by their MSS rule (`from ADDRESS lookup
/// 4242`, preference 4242), which every managed address gets even when there is no default route
/// to copy; so a smaller plan removes exactly what an earlier one added, and other addresses on
/// lo are left alone.
public enum PodDSR {
    /// What one pod should look like.
    public struct Plan: Hashable, Sendable {
        /// The pod's network namespace file, e.g. /var/run/netns/cni-1234 (see PodNamespaceFinder).
        public var namespacePath: String
        /// The pod's interface; nil: the one holding `podAddress`.
        public var interface: String?
        /// The address the LB encapsulates to (the endpoint's address).
        public var podAddress: IPAddress
        /// Service (load-balancer) addresses to put on lo.
        public var addresses: [IPAddress]
        /// Service ports the pod answers on another port.
        public var mappings: [DecapPortMapping]
        /// GUE's UDP port when the LB may use GUE; nil: IPIP / IPv6-in-IPv6 only.
        public var guePort: UInt16?
        /// The path MTU between client and LB the advertised MSS is derived from.
        public var pathMTU: Int
        /// A bpffs directory; the pod's pins go in a subdirectory named after its namespace.
        public var pinDirectory: String

        public init(
            namespacePath: String, interface: String? = nil, podAddress: IPAddress, addresses: [IPAddress],
            mappings: [DecapPortMapping] = [], guePort: UInt16? = nil, pathMTU: Int = 1500,
            pinDirectory: String = "/sys/fs/bpf/switchyard/pods"
        ) {
            self.namespacePath = namespacePath
            self.interface = interface
            self.podAddress = podAddress
            self.addresses = addresses
            self.mappings = mappings
            self.guePort = guePort
            self.pathMTU = pathMTU
            self.pinDirectory = pinDirectory
        }
    }

    /// What a pod looks like after `apply`, and what the call changed (empty: nothing).
    public struct Applied: Hashable, Sendable {
        public var interface: String
        public var pinPath: String
        public var ingressProgramID: UInt32
        public var egressProgramID: UInt32
        /// One line per change, for the log; empty when the pod already matched the plan.
        public var changes: [String]
        /// What could not be done and is not fatal (no default route for the MSS, a missing sysctl).
        public var warnings: [String]
    }

    /// A plan that cannot be applied, with what to do about it.
    public enum PlanError: Error, Hashable, Sendable, CustomStringConvertible {
        case noInterface(podAddress: IPAddress, namespacePath: String)
        case pathMTUTooSmall(Int)
        case mixedFamilyWithoutGUE(IPAddress, podAddress: IPAddress)
        case notBPFFS(String)

        public var description: String {
            switch self {
            case .noInterface(let address, let path):
                "no interface in \(path) holds \(address): the pod has gone or changed address; "
                    + "find its namespace again (PodNamespaceFinder) or pass the interface"
            case .pathMTUTooSmall(let mtu):
                "path MTU \(mtu) leaves no room for TCP after encapsulation: use at least 1280"
            case .mixedFamilyWithoutGUE(let address, let pod):
                "\(address) cannot reach pod \(pod) over IPIP or IPv6-in-IPv6 (other family): set a GUE port"
            case .notBPFFS(let path):
                "pin directory \(path) is not on bpffs: mount one (mount -t bpf bpf /sys/fs/bpf) or choose another"
            }
        }
    }

    /// Makes the pod's namespace match `plan`. Idempotent: the same plan again changes nothing
    /// (`changes` is empty); a smaller plan removes the addresses and mappings that went away.
    public static func apply(_ plan: Plan) throws -> Applied {
        guard plan.pathMTU >= 1280 else { throw PlanError.pathMTUTooSmall(plan.pathMTU) }
        if plan.guePort == nil, let other = plan.addresses.first(where: { $0.family != plan.podAddress.family }) {
            throw PlanError.mixedFamilyWithoutGUE(other, podAddress: plan.podAddress)
        }
        let pinPath = try preparePinPath(plan)
        return try NetworkNamespace.inside(path: plan.namespacePath) {
            guard let interface = try plan.interface ?? InterfaceAddresses.interface(holding: plan.podAddress) else {
                throw PlanError.noInterface(podAddress: plan.podAddress, namespacePath: plan.namespacePath)
            }
            var report = DSRHostSetup.Report()
            let decap = try DecapDatapath(pinDirectory: pinPath)
            try decap.setGUEPort(plan.guePort ?? 0)
            if try decap.setPortMappings(plan.mappings) {
                report.changes.append("port mappings: \(plan.mappings.map(\.description).sorted())")
            }
            let ingress = try attach(decap.programFD, interface, .ingress, &report)
            let egress = try attach(decap.egressProgramFD, interface, .egress, &report)
            try DSRHostSetup.setSysctls(interface: interface, report: &report)
            let wanted = Set(plan.addresses)
            for address in plan.addresses.sorted() {
                try DSRHostSetup.addLoopbackAddress(address, report: &report)
                try DSRHostSetup.addRule(from: address, report: &report)
            }
            for address in try DSRHostSetup.ruleSources().subtracting(wanted).sorted() {
                try DSRHostSetup.removeLoopbackAddress(address, report: &report)
                try DSRHostSetup.removeRule(from: address, report: &report)
            }
            for family in [IPAddress.Family.v4, .v6] {
                let mss =
                    wanted.contains { $0.family == family }
                    ? DSRHostSetup.advertisedMSS(
                        inner: family, outer: plan.podAddress.family, gue: plan.guePort != nil, pathMTU: plan.pathMTU)
                    : nil
                try DSRHostSetup.setMSSRoute(family: family, advmss: mss, report: &report)
            }
            return Applied(
                interface: interface, pinPath: pinPath, ingressProgramID: ingress, egressProgramID: egress,
                changes: report.changes, warnings: report.warnings)
        }
    }

    /// Undoes `apply`: our tc filters, every managed address with its rule, the MSS routes, the
    /// pins. Other tc programs and addresses stay. A namespace that is gone (the pod was deleted)
    /// leaves only the pins to remove. Only `namespacePath`, `interface`, `podAddress` and
    /// `pinDirectory` of the plan are read.
    /// - Returns: one line per change.
    @discardableResult
    public static func remove(_ plan: Plan) throws -> [String] {
        let pinPath = pinPath(namespacePath: plan.namespacePath, pinDirectory: plan.pinDirectory)
        var report = DSRHostSetup.Report()
        if access(plan.namespacePath, F_OK) == 0 {
            try NetworkNamespace.inside(path: plan.namespacePath) {
                if let interface = try plan.interface ?? InterfaceAddresses.interface(holding: plan.podAddress) {
                    for direction in [TCAttachment.Direction.ingress, .egress] {
                        if try TCAttachment.detach(interface: interface, direction: direction) {
                            report.changes.append("tc \(direction) program detached from \(interface)")
                        }
                    }
                }
                for address in try DSRHostSetup.ruleSources().sorted() {
                    try DSRHostSetup.removeLoopbackAddress(address, report: &report)
                    try DSRHostSetup.removeRule(from: address, report: &report)
                }
                for family in [IPAddress.Family.v4, .v6] {
                    try DSRHostSetup.setMSSRoute(family: family, advmss: nil, report: &report)
                }
            }
        }
        if access(pinPath, F_OK) == 0 {
            DecapDatapath.unpin(directory: pinPath)
            report.changes.append("pins \(pinPath) removed")
        }
        return report.changes
    }

    /// Where the pins of the pod in `namespacePath` go: the namespace file's name with anything
    /// but letters, digits, '-' and '_' replaced by '_'; /proc/PID/ns/net becomes `pid-PID`.
    public static func pinPath(namespacePath: String, pinDirectory: String) -> String {
        "\(pinDirectory)/\(pinName(namespacePath))"
    }

    static func pinName(_ namespacePath: String) -> String {
        let parts = namespacePath.split(separator: "/")
        var name = parts.last.map(String.init) ?? "netns"
        if parts.count >= 3, parts[parts.count - 2] == "ns", parts[parts.count - 3].allSatisfy(\.isNumber) {
            name = "pid-\(parts[parts.count - 3])"
        }
        let cleaned = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") ? $0 : "_" })
        return cleaned.isEmpty ? "netns" : cleaned
    }

    /// Removes the pin directories of pods whose namespace is not among `liveNamespacePaths` (pods
    /// deleted while no agent ran: their programs went with the namespace, the pins stayed).
    /// - Returns: the directories removed.
    @discardableResult
    public static func unpinStale(pinDirectory: String, liveNamespacePaths: [String]) -> [String] {
        let live = Set(liveNamespacePaths.map(pinName))
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: pinDirectory)) ?? []
        return entries.sorted().filter { name in
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: "\(pinDirectory)/\(name)", isDirectory: &isDirectory)
            return exists && isDirectory.boolValue && !live.contains(name)
        }.map { name in
            let path = "\(pinDirectory)/\(name)"
            DecapDatapath.unpin(directory: path)
            return path
        }
    }

    private static func preparePinPath(_ plan: Plan) throws -> String {
        var prefix = ""
        for component in plan.pinDirectory.split(separator: "/") {
            prefix += "/\(component)"
            guard mkdir(prefix, 0o700) == 0 || errno == EEXIST else {
                throw BPFError("create pin directory \(prefix)", errno: errno)
            }
        }
        guard BPFFS.isMounted(plan.pinDirectory) else { throw PlanError.notBPFFS(plan.pinDirectory) }
        return pinPath(namespacePath: plan.namespacePath, pinDirectory: plan.pinDirectory)
    }

    /// Attaches unless our filter already runs this very program (a restarted agent re-using pins).
    private static func attach(
        _ fd: Int32, _ interface: String, _ direction: TCAttachment.Direction, _ report: inout DSRHostSetup.Report
    ) throws -> UInt32 {
        let id = try DecapDatapath.programID(fd)
        if try TCAttachment.query(interface: interface, direction: direction) == id { return id }
        try TCAttachment.attach(program: fd, interface: interface, direction: direction)
        report.changes.append("tc \(direction) program \(id) attached to \(interface)")
        return id
    }
}
