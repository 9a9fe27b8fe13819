import DatapathModel
import SwitchyardABI
import SwitchyardCore
import Synchronization

/// The flow table through its shared mapping (BPF_F_MMAPABLE), written the way the datapath
/// writes it: one way at a time — its slot, then its last-seen, then its tag, which publishes
/// it — never a whole set, so a flow the datapath inserts into another way of the same set at
/// the same moment survives. Placement is the model's (`FlowCandidateSets.install`). Two writers
/// that pick the same way can still tear it; the check word turns that into a miss.
struct FlowTableMemory {
    let memory: UnsafeMutableRawPointer
    let layout: FlowTableLayout

    private static let stride = MemoryLayout<sy_flow_set>.stride
    private static let tagOffset = MemoryLayout<sy_flow_set>.offset(of: \.tag) ?? 0
    private static let lastSeenOffset = MemoryLayout<sy_flow_set>.offset(of: \.last_seen) ?? 0
    private static let slotOffset = MemoryLayout<sy_flow_set>.offset(of: \.way) ?? 0

    func set(_ index: UInt32) -> FlowSet {
        FlowSet(memory.load(fromByteOffset: Int(index) * Self.stride, as: sy_flow_set.self))
    }

    func candidateSets(_ hash: UInt64) -> FlowCandidateSets {
        let indices = layout.candidates(hash)
        let first = set(indices.first)
        return FlowCandidateSets(
            indices: indices, first: first, second: indices.second == indices.first ? first : set(indices.second))
    }

    /// Places one entry by the model's rule and writes the way it changed, if any.
    func install(
        _ key: FlowKey, entry: DatapathTables.FlowEntry, remote: Bool, now: UInt32, evictIdle: UInt32,
        protect: UInt32
    ) -> FlowCandidateSets.Placement {
        let hash = key.hash
        var candidates = candidateSets(hash)
        let (placement, changed) = candidates.install(
            key, hash: hash, entry: entry, remote: remote, now: now, evictIdle: evictIdle, protect: protect)
        if let changed { store(candidates.set(changed.set).ways[changed.way], at: changed) }
        return placement
    }

    /// Empties the key's way; false when the key is not there (or torn).
    func remove(_ key: FlowKey) -> Bool {
        let hash = key.hash
        guard let found = candidateSets(hash).find(key, tag: FlowTableLayout.tag(hash)), !found.torn else {
            return false
        }
        store(nil, at: found.place)
        return true
    }

    /// Writes one way: an entry's slot, last-seen, then tag (the order the datapath reads them
    /// in reverse), or for nil only a zero tag.
    func store(_ way: FlowWay?, at place: FlowPlace) {
        let base = Int(place.set) * Self.stride
        let w = place.way
        guard let way else {
            memory.storeBytes(of: UInt32(0), toByteOffset: base + Self.tagOffset + 4 * w, as: UInt32.self)
            return
        }
        // A way taken over from another flow is unpublished first, so no reader pairs its old
        // tag with the new slot.
        let tagAt = base + Self.tagOffset + 4 * w
        if memory.load(fromByteOffset: tagAt, as: UInt32.self) != 0 {
            memory.storeBytes(of: UInt32(0), toByteOffset: tagAt, as: UInt32.self)
            atomicMemoryFence(ordering: .releasing)
        }
        memory.storeBytes(
            of: sy_flow_slot(way), toByteOffset: base + Self.slotOffset + MemoryLayout<sy_flow_slot>.stride * w,
            as: sy_flow_slot.self)
        memory.storeBytes(of: way.lastSeen, toByteOffset: base + Self.lastSeenOffset + 4 * w, as: UInt32.self)
        atomicMemoryFence(ordering: .releasing)
        memory.storeBytes(of: way.tag, toByteOffset: tagAt, as: UInt32.self)
    }
}
