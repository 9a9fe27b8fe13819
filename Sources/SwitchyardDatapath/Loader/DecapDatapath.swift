import CLibbpf
import Foundation
import Glibc
import SwitchyardABI

/// The backend-side decap program (tc ingress) and its config.
public final class DecapDatapath: @unchecked Sendable {
    public let programFD: Int32
    public let config: BPFMap
    public let stats: BPFMap
    private let object: OpaquePointer

    public init() throws {
        let object = try openBPFObject(EmbeddedObject.decap.bytes, "decap")
        self.object = object
        do {
            try BPFError.check(bpf_object__load(object), "load the decap program")
            guard let program = bpf_object__find_program_by_name(object, "switchyard_decap"),
                let configMap = bpf_object__find_map_by_name(object, "sy_decap_config"),
                let statsMap = bpf_object__find_map_by_name(object, "sy_decap_stats")
            else {
                throw BPFError("find decap program and maps", errno: ENOENT)
            }
            programFD = bpf_program__fd(program)
            config = BPFMap(
                fd: bpf_map__fd(configMap), name: "sy_decap_config", keySize: 4,
                valueSize: MemoryLayout<sy_decap_config>.size, perCPU: false)
            stats = BPFMap(fd: bpf_map__fd(statsMap), name: "sy_decap_stats", keySize: 4, valueSize: 8, perCPU: true)
        } catch {
            bpf_object__close(object)
            throw error
        }
    }

    deinit { bpf_object__close(object) }

    /// The UDP port GUE arrives on (0: GUE not accepted).
    public func setGUEPort(_ port: UInt16) throws {
        try config.update(UInt32(0), sy_decap_config(gue_port: port.bigEndian, pad: 0, pad2: 0))
    }

    /// Packets decapsulated and failed, summed over CPUs.
    public func counts() throws -> (decapsulated: UInt64, failed: UInt64) {
        let ok = (try stats.lookupPerCPU(SY_DECAP_OK.rawValue, as: UInt64.self) ?? []).reduce(0, +)
        let bad = (try stats.lookupPerCPU(SY_DECAP_FAILED.rawValue, as: UInt64.self) ?? []).reduce(0, +)
        return (ok, bad)
    }
}
