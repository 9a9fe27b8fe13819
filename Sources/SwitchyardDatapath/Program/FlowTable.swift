import DatapathModel
import Glibc
import SwitchyardABI
import SwitchyardCore

/// User-space access to the kernel's set-associative flow table. Placement is the model's
/// (`FlowCandidateSets.placement`): this type only reads a key's two candidate sets, applies the
/// model's decision and writes the changed set back, so the agent's installs and the model can
/// never disagree on where an entry goes.
public struct FlowTable: Sendable {
    public let datapath: LBDatapath

    public init(datapath: LBDatapath) { self.datapath = datapath }

    public var layout: FlowTableLayout { datapath.flowLayout }

    private func read(_ index: UInt32) throws -> sy_flow_set {
        try datapath.flows.lookup(index, as: sy_flow_set.self) ?? sy_flow_set()
    }

    /// The set at `index`, as the model sees sets.
    public func set(_ index: UInt32) throws -> FlowSet { FlowSet(try read(index)) }

    /// Replaces the set at `index` (the differential harness mirrors the model's table with it).
    public func write(_ set: FlowSet, at index: UInt32) throws {
        try datapath.flows.update(index, set.abi)
    }

    /// A key's two candidate sets, as the datapath reads them.
    public func candidateSets(_ hash: UInt64) throws -> FlowCandidateSets {
        let indices = layout.candidates(hash)
        let first = try set(indices.first)
        let second = indices.second == indices.first ? first : try set(indices.second)
        return FlowCandidateSets(indices: indices, first: first, second: second)
    }

    public func lookup(_ key: FlowKey) throws -> DatapathTables.FlowEntry? {
        let hash = key.hash
        let candidates = try candidateSets(hash)
        guard let found = candidates.find(key, tag: FlowTableLayout.tag(hash)), !found.torn else { return nil }
        return candidates[found.place]?.entry
    }

    public typealias InstallResult = FlowTableModel.InstallResult

    /// Writes entries where the model's placement rule puts them (`FlowCandidateSets.placement`):
    /// the key's own way, an empty one, or the one idle at least `evictIdle` jiffies over the key's
    /// two candidate sets; busy flows are never
    /// pushed out. `protect` jiffies dates last_seen into the future, so an entry installed for
    /// another node counts as busy until its owner's next refresh; an entry already present with
    /// the same backend only has that protection extended. Entries go in the model's install
    /// order. `now` saves a clock read.
    ///
    /// Through the table's mapping, one way at a time (`FlowTableMemory.store`): a write of the
    /// whole set would erase a flow the datapath inserted into another way of it meanwhile.
    @discardableResult
    public func install(
        _ flows: [FlowKey: DatapathTables.FlowEntry], remote: Bool = false, now: UInt32? = nil,
        evictIdle: UInt32 = 0, protect: UInt32 = 0
    ) throws -> InstallResult {
        let now = try now ?? UInt32(truncatingIfNeeded: datapath.readClock().jiffies)
        var result = InstallResult()
        // The overflow (see FlowTableModel.overflow) is touched only when it holds anything or an
        // entry must go there: a bulk install into a roomy table costs no syscall per entry.
        var overflowInUse = try datapath.overflowMayHoldEntries()
        try withMapping { memory, _ in
            let table = FlowTableMemory(memory: memory, layout: layout)
            for (key, entry) in FlowTableModel.installOrder(flows) {
                let placement = table.install(
                    key, entry: entry, remote: remote, now: now, evictIdle: evictIdle, protect: protect)
                result.count(placement)
                if case .busy = placement {
                    guard remote else { continue }
                    try keepInOverflow(key, entry, flags: SY_FLOW_F_REMOTE, now: now)
                    overflowInUse = true
                } else if overflowInUse {
                    _ = try datapath.flowOverflow.delete(sy_flow_key(key))
                }
            }
        }
        return result
    }

    /// This node's own new flows (the datapath's reports): a key present in either candidate set
    /// is left alone (the datapath placed it and keeps it; `present`); one the datapath found no
    /// way for is written by the placement rule — into a way empty or idle since (`written`,
    /// a local entry), else into the overflow (`busy`), so the next ring change cannot move it.
    @discardableResult
    public func keepOwn(_ flows: [FlowKey: DatapathTables.FlowEntry], now: UInt32? = nil, evictIdle: UInt32)
        throws -> InstallResult
    {
        let now = try now ?? UInt32(truncatingIfNeeded: datapath.readClock().jiffies)
        var result = InstallResult()
        try withMapping { memory, _ in
            let table = FlowTableMemory(memory: memory, layout: layout)
            for (key, entry) in FlowTableModel.installOrder(flows) {
                let hash = key.hash
                guard table.candidateSets(hash).find(key, tag: FlowTableLayout.tag(hash)) == nil else {
                    result.present += 1
                    continue
                }
                let placement = table.install(
                    key, entry: entry, remote: false, now: now, evictIdle: evictIdle, protect: 0)
                result.count(placement)
                if case .busy = placement { try keepInOverflow(key, entry, flags: 0, now: now) }
            }
        }
        return result
    }

    /// An entry no way could take, into the overflow (noted first: `overflowMayHoldEntries`).
    private func keepInOverflow(_ key: FlowKey, _ entry: DatapathTables.FlowEntry, flags: UInt32, now: UInt32) throws {
        datapath.noteOverflow(holdsEntries: true)
        try datapath.flowOverflow.update(
            sy_flow_key(key),
            sy_flow_overflow_entry(backend: entry.backend, service: entry.service, flags: flags, synced: now))
    }

    @discardableResult
    public func remove(_ key: FlowKey) throws -> Bool {
        try remove([key]) > 0
    }

    /// Removes every key it finds (through the mapping); returns how many were there.
    @discardableResult
    public func remove(_ keys: some Sequence<FlowKey>) throws -> Int {
        var removed = 0
        let overflowInUse = try datapath.overflowMayHoldEntries()
        try withMapping { memory, _ in
            let table = FlowTableMemory(memory: memory, layout: layout)
            for key in keys {
                let inOverflow = overflowInUse ? try datapath.flowOverflow.delete(sy_flow_key(key)) : false
                if table.remove(key) || inOverflow { removed += 1 }
            }
        }
        return removed
    }

    /// Empties every set (one write through a mapping, not a syscall per set).
    public func removeAll() throws {
        try withMapping { memory, length in
            memory.initializeMemory(as: UInt8.self, repeating: 0, count: length)
        }
        for key in try overflowKeys() { _ = try datapath.flowOverflow.delete(key) }
        datapath.noteOverflow(holdsEntries: false)
    }

    /// Every live entry (a scan of all sets).
    public func all() throws -> [FlowKey: DatapathTables.FlowEntry] {
        var result: [FlowKey: DatapathTables.FlowEntry] = [:]
        try scan { key, entry, _ in result[key] = entry }
        return result
    }

    /// Every set holding at least one occupied way, as the model holds them (`FlowTableModel.sets`).
    public func sets() throws -> [UInt32: FlowSet] {
        var result: [UInt32: FlowSet] = [:]
        try withSets { index, raw in
            let set = FlowSet(raw)
            if !set.isEmpty { result[UInt32(index)] = set }
        }
        return result
    }

    /// The overflow's entries (stateful entries that found no way: from the store, or own ones
    /// the agent kept), with their flags and sync times.
    public func overflow() throws -> [FlowKey: FlowTableModel.OverflowEntry] {
        var result: [FlowKey: FlowTableModel.OverflowEntry] = [:]
        for key in try overflowKeys() {
            guard let entry = try datapath.flowOverflow.lookup(key, as: sy_flow_overflow_entry.self) else { continue }
            result[key.model] = FlowTableModel.OverflowEntry(
                backend: entry.backend, service: entry.service, flags: FlowFlags(rawValue: entry.flags),
                synced: entry.synced)
        }
        return result
    }

    private func overflowKeys() throws -> [sy_flow_key] { try datapath.flowOverflow.keys(as: sy_flow_key.self) }

    /// Calls `body` for every live entry with its flags (SY_FLOW_F_*), reading the table through
    /// the table's mapping (no syscall per set; entries may change while it runs), then the
    /// overflow's entries (remote ones flagged so, this node's own kept ones not).
    public func scan(_ body: (FlowKey, DatapathTables.FlowEntry, UInt32) throws -> Void) throws {
        try withSets { _, raw in
            for w in 0..<FlowTableLayout.ways where raw.tag(w) != 0 {
                let slot = raw.slot(w)
                guard slot.check == FlowTableLayout.check(tag: raw.tag(w), backend: slot.backend, service: slot.service)
                else { continue }
                let entry = DatapathTables.FlowEntry(backend: slot.backend, service: slot.service)
                try body(slot.key.model, entry, slot.flags)
            }
        }
        for (key, entry) in try overflow() { try body(key, entry.entry, entry.flags.rawValue) }
    }

    /// Each set with a non-zero tag, by index (the tags open the set: `tag[0]` is at offset 0).
    private func withSets(_ body: (Int, sy_flow_set) throws -> Void) throws {
        let stride = MemoryLayout<sy_flow_set>.stride
        let tagsSize = MemoryLayout<UInt32>.size * FlowTableLayout.ways
        try withMapping { memory, _ in
            for index in 0..<layout.setCount {
                let base = memory + index * stride
                let occupied = (0..<tagsSize / 4).contains { base.load(fromByteOffset: $0 * 4, as: UInt32.self) != 0 }
                if occupied { try body(index, base.load(as: sy_flow_set.self)) }
            }
        }
    }

    /// Through the datapath's one long-lived mapping of the table (`LBDatapath.flowMemory`).
    private func withMapping(_ body: (UnsafeMutableRawPointer, Int) throws -> Void) throws {
        let (memory, length) = try datapath.flowMemory()
        try body(memory, length)
    }
}
