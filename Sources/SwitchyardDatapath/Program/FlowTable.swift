import DatapathModel
import Glibc
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
            UnsafeMutableBufferPointer(
                start: UnsafeMutableRawPointer($0).assumingMemoryBound(to: sy_flow_slot.self), count: Int(SY_FLOW_WAYS))
        }
    }

    private static func tags(_ set: inout sy_flow_set) -> UnsafeMutableBufferPointer<UInt32> {
        withUnsafeMutablePointer(to: &set.tag) {
            UnsafeMutableBufferPointer(
                start: UnsafeMutableRawPointer($0).assumingMemoryBound(to: UInt32.self), count: Int(SY_FLOW_WAYS))
        }
    }

    private static func lastSeen(_ set: inout sy_flow_set) -> UnsafeMutableBufferPointer<UInt32> {
        withUnsafeMutablePointer(to: &set.last_seen) {
            UnsafeMutableBufferPointer(
                start: UnsafeMutableRawPointer($0).assumingMemoryBound(to: UInt32.self), count: Int(SY_FLOW_WAYS))
        }
    }

    private static func way(of key: sy_flow_key, tag: UInt32, in set: inout sy_flow_set) -> Int? {
        let tags = tags(&set)
        let slots = slots(&set)
        let wanted = structBytes(key)
        return (0..<Int(SY_FLOW_WAYS)).first { w in
            tags[w] == tag && structBytes(slots[w].key) == wanted
                && slots[w].check == sy_flow_check(tag, slots[w].backend, slots[w].service)
        }
    }

    public func lookup(_ key: FlowKey) throws -> DatapathTables.FlowEntry? {
        let hash = key.hash
        let tag = sy_flow_tag(hash)
        var s = try read(set(for: hash))
        guard let w = Self.way(of: sy_flow_key(key), tag: tag, in: &s) else { return nil }
        let slot = Self.slots(&s)[w]
        return DatapathTables.FlowEntry(backend: slot.backend, service: slot.service)
    }

    /// What an install did with each entry.
    public struct InstallResult: Sendable, Equatable {
        /// Entries written: new ones, or a key now mapped to another backend or service.
        public var written = 0
        /// Entries already present as given: only their protection was extended (if any).
        public var present = 0
        /// Entries skipped because their set held only busy flows.
        public var busy = 0
        public init() {}
    }

    /// Writes entries: the key's own way, else an empty one, else the one idle longest — if idle
    /// at least `evictIdle` jiffies (as in the datapath: busy flows are never pushed out; those
    /// skipped are counted as busy). `protect` jiffies dates last_seen into the future, so an
    /// entry installed for another node, which sees no traffic here, counts as busy until its
    /// owner's next refresh; an entry already present with the same backend only has that
    /// protection extended, keeping its flags. `now` saves a clock read.
    @discardableResult
    public func install(
        _ flows: [FlowKey: DatapathTables.FlowEntry], remote: Bool = false, now: UInt32? = nil,
        evictIdle: UInt32 = 0, protect: UInt32 = 0
    ) throws -> InstallResult {
        let now = try now ?? UInt32(truncatingIfNeeded: datapath.readClock().jiffies)
        let seenAt = now &+ protect
        func idle(_ seen: UInt32) -> Int32 { max(0, Int32(bitPattern: now &- seen)) }
        var result = InstallResult()
        for (key, entry) in flows {
            let hash = key.hash
            let tag = sy_flow_tag(hash)
            let index = set(for: hash)
            let abiKey = sy_flow_key(key)
            var s = try read(index)
            let tags = Self.tags(&s)
            let seen = Self.lastSeen(&s)
            let existing = Self.way(of: abiKey, tag: tag, in: &s)
            if let w = existing, Self.slots(&s)[w].backend == entry.backend, Self.slots(&s)[w].service == entry.service
            {
                if Int32(bitPattern: seenAt &- seen[w]) > 0 {
                    seen[w] = seenAt
                    try datapath.flows.update(index, s)
                }
                result.present += 1
                continue
            }
            let oldest = (0..<Int(SY_FLOW_WAYS)).max { idle(seen[$0]) < idle(seen[$1]) }!
            guard
                let w = existing ?? tags.firstIndex(of: 0)
                    ?? (idle(seen[oldest]) >= Int32(clamping: evictIdle) ? oldest : nil)
            else {
                result.busy += 1
                continue
            }
            var slot = sy_flow_slot()
            slot.key = abiKey
            slot.backend = entry.backend
            slot.service = entry.service
            slot.flags = remote ? SY_FLOW_F_REMOTE : 0
            slot.check = sy_flow_check(tag, entry.backend, entry.service)
            slot.synced = now
            Self.slots(&s)[w] = slot
            tags[w] = tag
            seen[w] = seenAt
            try datapath.flows.update(index, s)
            result.written += 1
        }
        return result
    }

    @discardableResult
    public func remove(_ key: FlowKey) throws -> Bool {
        let hash = key.hash
        let index = set(for: hash)
        var s = try read(index)
        guard let w = Self.way(of: sy_flow_key(key), tag: sy_flow_tag(hash), in: &s) else { return false }
        Self.tags(&s)[w] = 0
        try datapath.flows.update(index, s)
        return true
    }

    /// Every live entry (a scan of all sets).
    public func all() throws -> [FlowKey: DatapathTables.FlowEntry] {
        var result: [FlowKey: DatapathTables.FlowEntry] = [:]
        try scan { key, entry, _ in result[key] = entry }
        return result
    }

    /// Calls `body` for every live entry with its flags (SY_FLOW_F_*), reading the table through
    /// a read-only mapping (no syscall per set; entries may change while it runs).
    public func scan(_ body: (FlowKey, DatapathTables.FlowEntry, UInt32) throws -> Void) throws {
        let stride = MemoryLayout<sy_flow_set>.stride
        let length = (Int(datapath.flowSetMask) + 1) * stride
        guard let memory = mmap(nil, length, PROT_READ, MAP_SHARED, datapath.flows.fd, 0), memory != MAP_FAILED else {
            throw BPFError("mmap the flow table", errno: errno)
        }
        defer { munmap(memory, length) }
        for index in 0...Int(datapath.flowSetMask) {
            var s = memory.load(fromByteOffset: index * stride, as: sy_flow_set.self)
            let tags = Self.tags(&s)
            let slots = Self.slots(&s)
            for w in 0..<Int(SY_FLOW_WAYS) where tags[w] != 0 {
                let slot = slots[w]
                guard slot.check == sy_flow_check(tags[w], slot.backend, slot.service) else { continue }
                try body(
                    slot.key.model, DatapathTables.FlowEntry(backend: slot.backend, service: slot.service), slot.flags)
            }
        }
    }
}
