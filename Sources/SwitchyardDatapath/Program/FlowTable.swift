import DatapathModel
import SwitchyardABI
import SwitchyardCore

/// User-space access to the set-associative flow table, placing and finding entries exactly as
/// the datapath does (switchyard_abi.h: tag, set index, check).
public struct FlowTable: Sendable {
    public let datapath: LBDatapath

    public init(datapath: LBDatapath) { self.datapath = datapath }

    private func set(for hash: UInt64) -> UInt32 { sy_flow_set_index(hash, datapath.flowSetMask) }

    private func read(_ index: UInt32) throws -> sy_flow_set {
        try datapath.flows.lookup(index, as: sy_flow_set.self) ?? sy_flow_set()
    }

    private static func slots(_ set: inout sy_flow_set) -> UnsafeMutableBufferPointer<sy_flow_slot> {
        withUnsafeMutablePointer(to: &set.way) {
            UnsafeMutableBufferPointer(start: UnsafeMutableRawPointer($0).assumingMemoryBound(to: sy_flow_slot.self), count: Int(SY_FLOW_WAYS))
        }
    }

    private static func tags(_ set: inout sy_flow_set) -> UnsafeMutableBufferPointer<UInt32> {
        withUnsafeMutablePointer(to: &set.tag) {
            UnsafeMutableBufferPointer(start: UnsafeMutableRawPointer($0).assumingMemoryBound(to: UInt32.self), count: Int(SY_FLOW_WAYS))
        }
    }

    private static func lastSeen(_ set: inout sy_flow_set) -> UnsafeMutableBufferPointer<UInt32> {
        withUnsafeMutablePointer(to: &set.last_seen) {
            UnsafeMutableBufferPointer(start: UnsafeMutableRawPointer($0).assumingMemoryBound(to: UInt32.self), count: Int(SY_FLOW_WAYS))
        }
    }

    private static func way(of key: sy_flow_key, tag: UInt32, in set: inout sy_flow_set) -> Int? {
        let tags = tags(&set), slots = slots(&set)
        let wanted = structBytes(key)
        return (0..<Int(SY_FLOW_WAYS)).first { w in
            tags[w] == tag && structBytes(slots[w].key) == wanted
                && slots[w].check == sy_flow_check(tag, slots[w].backend, slots[w].service)
        }
    }

    public func lookup(_ key: FlowKey) throws -> DatapathTables.FlowEntry? {
        let hash = key.hash, tag = sy_flow_tag(hash)
        var s = try read(set(for: hash))
        guard let w = Self.way(of: sy_flow_key(key), tag: tag, in: &s) else { return nil }
        let slot = Self.slots(&s)[w]
        return DatapathTables.FlowEntry(backend: slot.backend, service: slot.service)
    }

    /// Writes entries: the key's own way, else an empty one, else the one idle longest.
    /// Read-modify-write of a whole set: meant for the agent, not concurrent with itself.
    public func install(_ flows: [FlowKey: DatapathTables.FlowEntry], remote: Bool = false) throws {
        let now = UInt32(truncatingIfNeeded: try datapath.readClock().jiffies)
        for (key, entry) in flows {
            let hash = key.hash, tag = sy_flow_tag(hash), index = set(for: hash)
            let abiKey = sy_flow_key(key)
            var s = try read(index)
            let tags = Self.tags(&s), seen = Self.lastSeen(&s)
            let w = Self.way(of: abiKey, tag: tag, in: &s)
                ?? tags.firstIndex(of: 0)
                ?? (0..<Int(SY_FLOW_WAYS)).max { now &- seen[$0] < now &- seen[$1] }!
            var slot = sy_flow_slot()
            slot.key = abiKey
            slot.backend = entry.backend
            slot.service = entry.service
            slot.flags = remote ? SY_FLOW_F_REMOTE : 0
            slot.check = sy_flow_check(tag, entry.backend, entry.service)
            Self.slots(&s)[w] = slot
            tags[w] = tag
            seen[w] = now
            try datapath.flows.update(index, s)
        }
    }

    @discardableResult
    public func remove(_ key: FlowKey) throws -> Bool {
        let hash = key.hash, index = set(for: hash)
        var s = try read(index)
        guard let w = Self.way(of: sy_flow_key(key), tag: sy_flow_tag(hash), in: &s) else { return false }
        Self.tags(&s)[w] = 0
        try datapath.flows.update(index, s)
        return true
    }

    /// Every live entry (a scan of all sets).
    public func all() throws -> [FlowKey: DatapathTables.FlowEntry] {
        var result: [FlowKey: DatapathTables.FlowEntry] = [:]
        for index in 0...datapath.flowSetMask {
            var s = try read(index)
            let tags = Self.tags(&s), slots = Self.slots(&s)
            for w in 0..<Int(SY_FLOW_WAYS) where tags[w] != 0 {
                let slot = slots[w]
                guard slot.check == sy_flow_check(tags[w], slot.backend, slot.service) else { continue }
                result[slot.key.model] = DatapathTables.FlowEntry(backend: slot.backend, service: slot.service)
            }
        }
        return result
    }
}
