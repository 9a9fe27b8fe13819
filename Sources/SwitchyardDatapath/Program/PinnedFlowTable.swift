import CLibbpf
import DatapathModel
import Glibc
import SwitchyardABI
import SwitchyardCore

/// Read-only view of another process's flow table through its pin (bpffs): finds entries by
/// key with plain memory reads, placing them as the datapath does. For measuring, not control.
public final class PinnedFlowTable: @unchecked Sendable {
    private let fd: Int32
    private let memory: UnsafeRawPointer
    private let length: Int
    public let layout: FlowTableLayout

    public init(pin path: String) throws {
        fd = bpf_obj_get(path)
        guard fd >= 0 else { throw BPFError("open pinned flow table \(path)", errno: errno) }
        var info = bpf_map_info()
        var size = UInt32(MemoryLayout<bpf_map_info>.size)
        guard bpf_obj_get_info_by_fd(fd, &info, &size) == 0, info.value_size == MemoryLayout<sy_flow_set>.size else {
            close(fd)
            throw BPFError("\(path) is not a Switchyard flow table of this ABI", errno: EINVAL)
        }
        layout = FlowTableLayout(setCount: info.max_entries)
        length = Int(info.max_entries) * MemoryLayout<sy_flow_set>.stride
        guard let m = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), m != MAP_FAILED else {
            close(fd)
            throw BPFError("mmap \(path)", errno: errno)
        }
        memory = UnsafeRawPointer(m)
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: memory), length)
        close(fd)
    }

    /// Where a key lives: precompute once, test often.
    public struct Probe: Sendable {
        let sets: FlowCandidates
        let tag: UInt32
        let key: sy_flow_key
    }

    public func probe(_ key: FlowKey) -> Probe {
        let hash = key.hash
        return Probe(sets: layout.candidates(hash), tag: FlowTableLayout.tag(hash), key: sy_flow_key(key))
    }

    /// The entry's backend index, if the key is in the table (first candidate set, then second).
    public func backend(_ p: Probe) -> UInt32? {
        let slotsOffset = MemoryLayout<sy_flow_set>.offset(of: \sy_flow_set.way) ?? 0
        for index in p.sets.indices {
            let base = memory + Int(index) * MemoryLayout<sy_flow_set>.stride
            for w in 0..<FlowTableLayout.ways where base.load(fromByteOffset: w * 4, as: UInt32.self) == p.tag {
                let slot = base.load(
                    fromByteOffset: slotsOffset + w * MemoryLayout<sy_flow_slot>.stride, as: sy_flow_slot.self)
                if structBytes(slot.key) == structBytes(p.key) { return slot.backend }
            }
        }
        return nil
    }
}
