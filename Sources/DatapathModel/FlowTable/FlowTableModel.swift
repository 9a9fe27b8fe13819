import SwitchyardABI
import SwitchyardCore

/// The datapath's flow table as a value: sets of ways with tags, last-seen times, flags, checks
/// and sync times, the node's eviction, insert-rate and refresh settings, and the per-CPU insert
/// budget. The packet path (`+Datapath`) mirrors bpf/conntrack.h; user-space installs
/// (`+Install`) are the one copy of the placement rule, used by the model and by the agent's
/// writes into the kernel table alike.
///
/// Storage is sparse (only sets holding an entry), so a model of a million-entry table costs
/// what its entries cost.
public struct FlowTableModel: Sendable, Equatable {
    /// The `sy_node` fields the flow table reads.
    public struct Policy: Sendable, Hashable {
        /// Jiffies a way must be idle before a new flow may replace it (`node.evict_idle`).
        public var evictIdle: UInt32
        /// Inserts allowed per CPU per second; 0 = unlimited (`node.new_flow_rate`).
        public var newFlowRate: UInt32
        /// Stateful services: report a used entry at most this often, in jiffies; 0 = never.
        public var syncRefresh: UInt32

        public init(evictIdle: UInt32 = 0, newFlowRate: UInt32 = 0, syncRefresh: UInt32 = 0) {
            self.evictIdle = evictIdle
            self.newFlowRate = newFlowRate
            self.syncRefresh = syncRefresh
        }
    }

    /// The loader's default size (`LBDatapath.Options.flowCapacity`).
    public static let defaultLayout = FlowTableLayout(capacity: 1 << 20)

    public let layout: FlowTableLayout
    public var policy: Policy
    /// Stateful entries that found both candidate sets busy (`sy_flow_overflow`): from the store,
    /// or this node's own flows its agent kept. A stateful flow with no way in the table is looked
    /// up here, and reported from here as from a way.
    public var overflow: [FlowKey: OverflowEntry] = [:]

    /// `struct sy_flow_overflow_entry`: the entry, with a way's stateful flags and sync time.
    public struct OverflowEntry: Sendable, Hashable, CustomStringConvertible {
        public var backend: UInt32
        public var service: UInt32
        public var flags: FlowFlags
        public var synced: UInt32

        public init(backend: UInt32, service: UInt32, flags: FlowFlags, synced: UInt32) {
            self.backend = backend
            self.service = service
            self.flags = flags
            self.synced = synced
        }

        public init(_ entry: DatapathTables.FlowEntry, flags: FlowFlags, synced: UInt32) {
            self.init(backend: entry.backend, service: entry.service, flags: flags, synced: synced)
        }

        public var entry: DatapathTables.FlowEntry { .init(backend: backend, service: service) }
        public var description: String { "backend \(backend) service \(service) \(flags) synced \(synced)" }
    }
    /// One CPU's budget: the model is one CPU (the differential harness keeps the kernel's CPUs
    /// in step with it).
    public var insertBudget = InsertBudget()
    /// Set index → set, for sets with at least one occupied way.
    public private(set) var sets: [UInt32: FlowSet] = [:]

    public init(layout: FlowTableLayout = Self.defaultLayout, policy: Policy = Policy()) {
        self.layout = layout
        self.policy = policy
    }

    /// The set at `index` (empty if nothing lives there).
    public func set(_ index: UInt32) -> FlowSet { sets[index] ?? FlowSet() }

    /// Replaces a set wholesale (tests: torn entries, raw states).
    public mutating func replaceSet(_ index: UInt32, with set: FlowSet) {
        sets[index] = set.isEmpty ? nil : set
    }

    /// A key's two candidate sets, as the datapath reads them.
    public func candidateSets(_ hash: UInt64) -> FlowCandidateSets {
        let indices = layout.candidates(hash)
        return FlowCandidateSets(indices: indices, first: set(indices.first), second: set(indices.second))
    }

    /// The occupied way at `place`, if any.
    public func way(at place: FlowPlace) -> FlowWay? {
        let ways = set(place.set).ways
        return ways.indices.contains(place.way) ? ways[place.way] : nil
    }

    mutating func updateWay(_ way: FlowWay?, at place: FlowPlace) {
        var s = self.set(place.set)
        guard s.ways.indices.contains(place.way) else { return }
        s.ways[place.way] = way
        replaceSet(place.set, with: s)
    }

    /// The live entry for `key`: found as the datapath finds it (tag, key, a check that holds).
    public subscript(key: FlowKey) -> DatapathTables.FlowEntry? {
        guard let found = find(key, hash: key.hash), !found.torn else { return nil }
        return way(at: found.place)?.entry
    }

    /// Every occupied way whose check holds, by key.
    public var entries: [FlowKey: DatapathTables.FlowEntry] {
        var result: [FlowKey: DatapathTables.FlowEntry] = [:]
        for set in sets.values {
            for case let way? in set.ways where way.checkHolds { result[way.key] = way.entry }
        }
        return result
    }

    public var count: Int { sets.values.reduce(0) { $0 + $1.ways.count { $0 != nil } } }

    /// Empties the table; settings and the insert budget stay.
    public mutating func removeAll() {
        sets = [:]
        overflow = [:]
    }

    /// Empties the way holding `key`, as user space does (the tag goes to 0).
    @discardableResult
    public mutating func remove(_ key: FlowKey) -> Bool {
        let overflowed = overflow.removeValue(forKey: key) != nil
        guard let found = find(key, hash: key.hash), !found.torn else { return overflowed }
        updateWay(nil, at: found.place)
        return true
    }

    /// The same entries (not their flags or times) in a table of another shape, installed in the
    /// install order at time `now`.
    public func relaid(as layout: FlowTableLayout, now: UInt32 = 0) -> FlowTableModel {
        var table = FlowTableModel(layout: layout, policy: policy)
        table.insertBudget = insertBudget
        table.install(entries, now: now)
        return table
    }
}
