import DatapathModel
import SwitchyardABI
import SwitchyardCore

/// The model's flow set ↔ `struct sy_flow_set`. An empty way is a zero tag; whatever its slot
/// still holds is not read by the datapath and is not carried over.
extension FlowSet {
    init(_ raw: sy_flow_set) {
        self.init(
            ways: (0..<FlowTableLayout.ways).map { w in
                let tag = raw.tag(w)
                guard tag != 0 else { return nil }
                let slot = raw.slot(w)
                return FlowWay(
                    tag: tag, lastSeen: raw.lastSeen(w), key: slot.key.model, backend: slot.backend,
                    service: slot.service, flags: FlowFlags(rawValue: slot.flags), check: slot.check,
                    synced: slot.synced)
            })
    }

    /// Writes way `w` of this set into `raw` (an empty way: only the tag is cleared).
    func store(way w: Int, into raw: inout sy_flow_set) {
        guard ways.indices.contains(w) else { return }
        guard let way = ways[w] else {
            raw.setTag(w, 0)
            return
        }
        raw.setSlot(w, sy_flow_slot(way))
        raw.setTag(w, way.tag)
        raw.setLastSeen(w, way.lastSeen)
    }

    var abi: sy_flow_set {
        var raw = sy_flow_set()
        for w in ways.indices { store(way: w, into: &raw) }
        return raw
    }
}

extension sy_flow_slot {
    /// A way's entry line (tag and last-seen live in the set's header line).
    init(_ way: FlowWay) {
        self.init()
        key = sy_flow_key(way.key)
        backend = way.backend
        service = way.service
        flags = way.flags.rawValue
        check = way.check
        synced = way.synced
    }
}

/// Way-indexed access to a set's tuple fields (C arrays import as tuples). `w` must be below
/// `FlowTableLayout.ways`; callers iterate that range.
extension sy_flow_set {
    private static let tagOffset = MemoryLayout<sy_flow_set>.offset(of: \.tag) ?? 0
    private static let lastSeenOffset = MemoryLayout<sy_flow_set>.offset(of: \.last_seen) ?? 0
    private static let slotOffset = MemoryLayout<sy_flow_set>.offset(of: \.way) ?? 0
    private static let slotStride = MemoryLayout<sy_flow_slot>.stride

    func tag(_ w: Int) -> UInt32 {
        withUnsafeBytes(of: self) { $0.load(fromByteOffset: Self.tagOffset + 4 * w, as: UInt32.self) }
    }
    func lastSeen(_ w: Int) -> UInt32 {
        withUnsafeBytes(of: self) { $0.load(fromByteOffset: Self.lastSeenOffset + 4 * w, as: UInt32.self) }
    }
    func slot(_ w: Int) -> sy_flow_slot {
        withUnsafeBytes(of: self) {
            $0.load(fromByteOffset: Self.slotOffset + Self.slotStride * w, as: sy_flow_slot.self)
        }
    }
    mutating func setTag(_ w: Int, _ value: UInt32) {
        withUnsafeMutableBytes(of: &self) {
            $0.storeBytes(of: value, toByteOffset: Self.tagOffset + 4 * w, as: UInt32.self)
        }
    }
    mutating func setLastSeen(_ w: Int, _ value: UInt32) {
        withUnsafeMutableBytes(of: &self) {
            $0.storeBytes(of: value, toByteOffset: Self.lastSeenOffset + 4 * w, as: UInt32.self)
        }
    }
    mutating func setSlot(_ w: Int, _ value: sy_flow_slot) {
        withUnsafeMutableBytes(of: &self) {
            $0.storeBytes(of: value, toByteOffset: Self.slotOffset + Self.slotStride * w, as: sy_flow_slot.self)
        }
    }
}
