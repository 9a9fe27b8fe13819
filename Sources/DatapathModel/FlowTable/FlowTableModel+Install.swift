import SwitchyardCore

/// Entries written from user space: tests, and the agent installing other nodes' entries. The
/// rule lives here once; `FlowTable.install` in the datapath target applies it to kernel sets.
extension FlowCandidateSets {
    /// Where an installed entry goes, and whether it goes at all.
    public enum Placement: Sendable, Equatable {
        /// The key is there with this backend and service. `lastSeen` is the protection to extend
        /// it to, or nil when it is already protected that long; nothing else changes (flags stay).
        case present(FlowPlace, lastSeen: UInt32?)
        /// Write the entry into this way: the key's own (another backend or service, or torn), an
        /// empty one, or the one idle longest.
        case write(FlowPlace)
        /// Every way of both sets holds a flow idle less than `evictIdle`: busy flows are never
        /// pushed out.
        case busy
    }

    /// The placement rule: the key's own way, else the datapath's victim rule (`victim_way`).
    /// `protect` dates last-seen that far into the future, so an entry installed for another
    /// node, which sees no traffic here, counts as busy until its owner's next refresh is due.
    public func placement(
        of key: FlowKey, hash: UInt64, entry: DatapathTables.FlowEntry, now: UInt32,
        evictIdle: UInt32, protect: UInt32
    ) -> Placement {
        let existing = find(key, tag: FlowTableLayout.tag(hash))
        if let existing, !existing.torn, let way = self[existing.place], way.backend == entry.backend,
            way.service == entry.service
        {
            let seenAt = now &+ protect
            let extend = Int32(bitPattern: seenAt &- way.lastSeen) > 0
            return .present(existing.place, lastSeen: extend ? seenAt : nil)
        }
        guard let place = existing?.place ?? victim(tag: FlowTableLayout.tag(hash), now: now, evictIdle: evictIdle)
        else { return .busy }
        return .write(place)
    }

    /// Applies `placement`; returns the way that changed (nil: nothing to write).
    @discardableResult
    public mutating func install(
        _ key: FlowKey, hash: UInt64, entry: DatapathTables.FlowEntry, remote: Bool,
        now: UInt32, evictIdle: UInt32, protect: UInt32
    )
        -> (placement: Placement, changed: FlowPlace?)
    {
        let placement = placement(of: key, hash: hash, entry: entry, now: now, evictIdle: evictIdle, protect: protect)
        switch placement {
        case .busy, .present(_, nil):
            return (placement, nil)
        case .present(let place, let seenAt?):
            var way = self[place]
            way?.lastSeen = seenAt
            update(place, to: way)
            return (placement, place)
        case .write(let place):
            update(
                place,
                to: FlowWay(
                    key: key, hash: hash, backend: entry.backend, service: entry.service,
                    flags: remote ? .remote : [], lastSeen: now &+ protect, synced: now))
            return (placement, place)
        }
    }
}

extension FlowTableModel {
    /// What an install did with each entry.
    public struct InstallResult: Sendable, Equatable {
        /// Entries written: new ones, or a key now mapped to another backend or service.
        public var written = 0
        /// Entries already present as given: only their protection was extended (if any).
        public var present = 0
        /// Entries skipped because their set held only busy flows (remote ones went to the
        /// overflow instead).
        public var busy = 0
        public init() {}

        public mutating func count(_ placement: FlowCandidateSets.Placement) {
            switch placement {
            case .write: written += 1
            case .present: present += 1
            case .busy: busy += 1
            }
        }
    }

    /// The order a batch is installed in: by hash, then key text. When two entries compete for the
    /// last way of a set, the model and the kernel writer must let the same one win.
    public static func installOrder(_ flows: [FlowKey: DatapathTables.FlowEntry])
        -> [(key: FlowKey, value: DatapathTables.FlowEntry)]
    {
        typealias Keyed = (hash: UInt64, flow: (key: FlowKey, value: DatapathTables.FlowEntry))
        let keyed: [Keyed] = flows.map { (hash: $0.key.hash, flow: $0) }
        func before(_ a: Keyed, _ b: Keyed) -> Bool {
            a.hash != b.hash ? a.hash < b.hash : a.flow.key.description < b.flow.key.description
        }
        return keyed.sorted(by: before).map(\.flow)
    }

    /// Installs one entry (see `FlowCandidateSets.placement`).
    @discardableResult
    public mutating func install(
        _ key: FlowKey, _ entry: DatapathTables.FlowEntry, remote: Bool = false,
        now: UInt32, evictIdle: UInt32 = 0, protect: UInt32 = 0
    ) -> FlowCandidateSets.Placement {
        let hash = key.hash
        var candidates = candidateSets(hash)
        let (placement, changed) = candidates.install(
            key, hash: hash, entry: entry, remote: remote, now: now,
            evictIdle: evictIdle, protect: protect)
        if let changed { replaceSet(changed.set, with: candidates.set(changed.set)) }
        // An entry from the store (remote) that no way can take goes to the overflow; one that
        // has a way leaves it.
        if case .busy = placement {
            if remote { overflow[key] = OverflowEntry(entry, flags: .remote, synced: now) }
        } else {
            overflow[key] = nil
        }
        return placement
    }

    /// Installs entries in hash order (`installOrder`), so the outcome is the same everywhere.
    @discardableResult
    public mutating func install(
        _ flows: [FlowKey: DatapathTables.FlowEntry], remote: Bool = false, now: UInt32,
        evictIdle: UInt32 = 0, protect: UInt32 = 0
    ) -> InstallResult {
        var result = InstallResult()
        for (key, entry) in Self.installOrder(flows) {
            result.count(install(key, entry, remote: remote, now: now, evictIdle: evictIdle, protect: protect))
        }
        return result
    }

    /// This node's own new flows as its datapath reported them (the agent's `keepOwnFlows`): a
    /// key in either candidate set is left alone (`present`: the datapath placed it); one the
    /// datapath found no way for is placed by the rule as a local entry (`written`), else kept in
    /// the overflow (`busy`), so a ring change cannot move it on this node either.
    @discardableResult
    public mutating func keepOwn(_ flows: [FlowKey: DatapathTables.FlowEntry], now: UInt32, evictIdle: UInt32)
        -> InstallResult
    {
        var result = InstallResult()
        for (key, entry) in Self.installOrder(flows) {
            guard find(key, hash: key.hash) == nil else {
                result.present += 1
                continue
            }
            let placement = install(key, entry, remote: false, now: now, evictIdle: evictIdle)
            result.count(placement)
            if case .busy = placement { overflow[key] = OverflowEntry(entry, flags: [], synced: now) }
        }
        return result
    }
}
