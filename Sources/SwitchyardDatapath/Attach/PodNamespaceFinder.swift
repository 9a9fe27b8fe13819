import Foundation
import SwitchyardCore

/// Finds the network namespace of a pod by the address on its interface.
///
/// Container runtimes bind-mount each pod sandbox's network namespace to a file: containerd
/// (its CRI plugin) as `/var/run/netns/cni-<uuid>`, CRI-O as `/var/run/netns/<uuid>` (both
/// configurable; the lab uses `/run/netns/<prefix>-…`). The file names carry no pod identity, so
/// each namespace is entered and its interfaces are asked for the address. Where no such files
/// exist (another runtime, or a namespace that was never bind-mounted), the fallback is
/// `/proc/<pid>/ns/net` of the pod's pause (sandbox) process, found through the runtime's API;
/// that is not built here.
public enum PodNamespaceFinder {
    /// The path of the namespace in `directory` (names starting with `namePrefix`, if given) whose
    /// interfaces hold `address`, or nil. Entries that cannot be opened or entered (not a
    /// namespace, gone meanwhile) are skipped; a directory that cannot be read throws.
    public static func find(
        address: IPAddress, directory: String = "/var/run/netns", namePrefix: String? = nil
    ) throws -> String? {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        for name in names where namePrefix.map({ name.hasPrefix($0) }) ?? true {
            let path = "\(directory)/\(name)"
            let holds = try? NetworkNamespace.inside(path: path) {
                try InterfaceAddresses.interface(holding: address) != nil
            }
            if holds == true { return path }
        }
        return nil
    }
}
