import SwitchyardCore

/// A key's two candidate sets with their contents: everything the datapath's `find_way` and
/// `victim_way` read for one key. The model reads them from its storage, the user-space writer
/// from the kernel map; both apply these rules, so neither can place an entry differently.
/// When the candidates coincide, the one set is looked at twice, as the datapath does.
public struct FlowCandidateSets: Sendable, Hashable {
    public var indices: FlowCandidates
    public var first: FlowSet
    public var second: FlowSet

    public init(indices: FlowCandidates, first: FlowSet, second: FlowSet) {
        self.indices = indices
        self.first = first
        self.second = second
    }

    /// Both sets in lookup order, with their indices.
    private var ordered: [(index: UInt32, set: FlowSet)] {
        [(indices.first, first), (indices.second, second)]
    }

    /// The occupied way at `place`; nil for an empty way or a place outside the two sets.
    public subscript(place: FlowPlace) -> FlowWay? {
        guard place.set == indices.first || place.set == indices.second else { return nil }
        let ways = set(place.set).ways
        return ways.indices.contains(place.way) ? ways[place.way] : nil
    }

    /// `find_way` over the first set, then the second: the first way holding `key` (torn or not).
    public func find(_ key: FlowKey, tag: UInt32) -> (place: FlowPlace, torn: Bool)? {
        for (index, set) in ordered {
            if let found = set.find(key, tag: tag) { return (FlowPlace(set: index, way: found.way), found.torn) }
        }
        return nil
    }

    /// `victim_way`: an empty way of the set with more empty ways (the first on a tie) — the
    /// tag's preferred way (`sy_flow_preferred_way`) if empty, else the set's first empty way —
    /// else the way idle longest over both sets (the first of the idlest, first set first) if idle
    /// at least `evictIdle`, else nil: busy flows are never evicted (flood safety). A last-seen in
    /// the future (protected remote entries) counts as idle 0; `evictIdle` is compared as the
    /// kernel's s32.
    public func victim(tag: UInt32, now: UInt32, evictIdle: UInt32) -> FlowPlace? {
        let preferred = Int(FlowTableLayout.preferredWay(tag))
        let (freeFirst, emptyFirst) = first.emptyWays(preferring: preferred)
        let (freeSecond, emptySecond) = second.emptyWays(preferring: preferred)
        if freeSecond > freeFirst, let w = emptySecond { return FlowPlace(set: indices.second, way: w) }
        if let w = emptyFirst { return FlowPlace(set: indices.first, way: w) }
        var victim: FlowPlace?
        var oldestIdle: Int32 = 0
        for (index, set) in ordered {
            for case (let w, let way?) in set.ways.enumerated() {
                let idle = max(0, Int32(bitPattern: now &- way.lastSeen))
                if victim == nil || idle > oldestIdle {
                    victim = FlowPlace(set: index, way: w)
                    oldestIdle = idle
                }
            }
        }
        return oldestIdle >= Int32(bitPattern: evictIdle) ? victim : nil
    }

    /// Replaces one way (both copies when the candidates coincide, so the pair stays one table).
    public mutating func update(_ place: FlowPlace, to way: FlowWay?) {
        guard first.ways.indices.contains(place.way) else { return }
        if place.set == indices.first { first.ways[place.way] = way }
        if place.set == indices.second { second.ways[place.way] = way }
    }

    /// The set at `index` (one of the two).
    public func set(_ index: UInt32) -> FlowSet { index == indices.first ? first : second }
}
