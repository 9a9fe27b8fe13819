import DatapathFixtures
import SwitchyardABI
import SwitchyardCore
import Testing

@testable import DatapathModel

/// The flow table's rules on their own (bpf/conntrack.h): victim choice over two candidate
/// sets, the busy rule, the insert budget, the stateful life of an entry and its reports, torn
/// entries, and the user-space placement. The kernel is held to the same rules by
/// FlowTablePressureTests.
@Suite struct FlowTableModelTests {
    /// One set of eight ways: both candidates of every key are that set.
    static func table(_ policy: FlowTableModel.Policy = .init()) -> FlowTableModel {
        FlowTableModel(layout: FlowTableLayout(capacity: 4), policy: policy)
    }

    static func key(_ i: Int, proto: UInt8 = 6) -> FlowKey {
        FlowKey(
            source: .v4(IPv4Address(10, 0, UInt8(i / 250), UInt8(i % 250 + 1))),
            destination: .v4(IPv4Address(10, 200, 0, 10)), sourcePort: 40000, destinationPort: 80, proto: proto)
    }

    static func set(lastSeen: [UInt32?]) -> FlowSet {
        FlowSet(
            ways: lastSeen.enumerated().map { w, seen in
                seen.map {
                    FlowWay(key: key(w), hash: key(w).hash, backend: 1, service: 0, flags: [], lastSeen: $0, synced: $0)
                }
            })
    }

    @Test func layoutOverProvisionsWithAnySetCount() {
        #expect(FlowTableLayout(capacity: 4).setCount == 1)
        #expect(FlowTableLayout(capacity: 1000).setCount == 144, "1.15 × 1000 ways, rounded up to sets of 8")
        #expect(FlowTableLayout(capacity: 1024).setCount == 148)
        #expect(FlowTableLayout(capacity: 1_000_000).slots == 1_150_000)
        #expect(FlowTableLayout(setCount: 148) == FlowTableLayout(capacity: 1024))
        #expect(FlowTableLayout.tag(0) == 1, "a tag is never 0, the empty mark")
    }

    /// Candidates lie below any set count, come from independent halves of the hash (keys that
    /// share a first set scatter over second sets), and tags differ among keys sharing a set.
    @Test func candidatesAreIndependentHalvesOfTheHash() {
        let layout = FlowTableLayout(capacity: 100_000)
        var rng = SplitMix64(seed: 3)
        let hashes = (0..<20_000).map { _ in rng.next() }
        let candidates = hashes.map(layout.candidates)
        #expect(candidates.allSatisfy { $0.first < UInt32(layout.setCount) && $0.second < UInt32(layout.setCount) })
        #expect(candidates.count { $0.first == $0.second } < 5)
        let sharingFirst = Dictionary(grouping: zip(hashes, candidates), by: { $0.1.first }).values.filter {
            $0.count > 1
        }
        let secondsOfShared = sharingFirst.map { Set($0.map(\.1.second)).count == $0.count }
        #expect(secondsOfShared.count { $0 } > secondsOfShared.count * 99 / 100)
        let tagsOfShared = sharingFirst.map { Set($0.map { FlowTableLayout.tag($0.0) }).count == $0.count }
        #expect(tagsOfShared.allSatisfy { $0 })
        // The top bits of each reduction follow their own half: a set count of 2^k takes the
        // top k bits of that half.
        let pow2 = FlowTableLayout(setCount: 1 << 10)
        #expect(pow2.candidates(0xabcd_1234_5678_9abc) == FlowCandidates(first: 0x159, second: 0x2af))
    }

    /// Filled greedily (one insert per flow, nothing evicted), a table of capacity N holds at
    /// least 99% of N random flows: the guarantee the over-provisioning buys.
    @Test func aTableHoldsNearlyItsCapacityOfRandomFlows() {
        let n = 20_000
        var table = FlowTableModel(layout: FlowTableLayout(capacity: n), policy: .init(evictIdle: 1 << 30))
        var busy = 0
        for i in 0..<n {
            let key = FlowKey(
                source: .v4(IPv4Address(UInt32(0x0b00_0000 + i))), destination: .v4(IPv4Address(10, 200, 0, 10)),
                sourcePort: UInt16(1024 + i % 50_000), destinationPort: 80, proto: 6)
            let outcome = table.insert(
                key, hash: key.hash, existing: nil, backend: 1, service: 0, stateful: false, tcpFlags: 0x02,
                now: DatapathTime(jiffies: 1))
            if outcome == .setBusy(nil) { busy += 1 }
        }
        #expect(table.count + busy == n)
        #expect(Double(table.count) >= 0.99 * Double(n), "held \(table.count) of \(n)")
    }

    static func pair(_ first: [UInt32?], _ second: [UInt32?]) -> FlowCandidateSets {
        FlowCandidateSets(
            indices: FlowCandidates(first: 0, second: 1), first: set(lastSeen: first), second: set(lastSeen: second))
    }

    @Test func victimIsTheEmptierSetElseTheIdlestOfBothIfIdleLongEnough() {
        let full: [UInt32?] = [10, 5, 20, 5, 30, 30, 30, 30]
        let busier: [UInt32?] = [40, 40, 40, 40, 40, 40, 3, 3]
        // Idle 90, 95, …; 60, …, 97: the first of the idlest, over both sets.
        #expect(Self.pair(full, busier).victim(tag: 1, now: 100, evictIdle: 97) == FlowPlace(set: 1, way: 6))
        #expect(Self.pair(busier, full).victim(tag: 1, now: 100, evictIdle: 97) == FlowPlace(set: 0, way: 6))
        #expect(
            Self.pair(full, full).victim(tag: 1, now: 100, evictIdle: 95) == FlowPlace(set: 0, way: 1),
            "first set first")
        #expect(Self.pair(full, full).victim(tag: 1, now: 100, evictIdle: 96) == nil, "busy sets: nobody is evicted")
        // Empty ways: the set with more of them, its first; the first set on a tie.
        let oneFree: [UInt32?] = [10, 5, nil, 5, 1, 1, 1, 1]
        let twoFree: [UInt32?] = [nil, 5, 5, nil, 1, 1, 1, 1]
        #expect(Self.pair(oneFree, twoFree).victim(tag: 1, now: 100, evictIdle: 1000) == FlowPlace(set: 1, way: 0))
        #expect(Self.pair(twoFree, oneFree).victim(tag: 1, now: 100, evictIdle: 1000) == FlowPlace(set: 0, way: 0))
        #expect(Self.pair(oneFree, oneFree).victim(tag: 1, now: 100, evictIdle: 1000) == FlowPlace(set: 0, way: 2))
        #expect(Self.pair(full, oneFree).victim(tag: 1, now: 100, evictIdle: 1000) == FlowPlace(set: 1, way: 2))
        // The tag's preferred way (bits 1-3: 7 → way 3) when it is empty, else the first empty one.
        #expect(FlowTableLayout.preferredWay(7) == 3)
        #expect(Self.pair(twoFree, oneFree).victim(tag: 7, now: 100, evictIdle: 1000) == FlowPlace(set: 0, way: 3))
        #expect(Self.pair(oneFree, oneFree).victim(tag: 7, now: 100, evictIdle: 1000) == FlowPlace(set: 0, way: 2))
        // A last-seen in the future (a protected remote entry) counts as idle 0.
        let future = [UInt32?](repeating: 150, count: 8)
        #expect(Self.pair(future, future).victim(tag: 1, now: 100, evictIdle: 1) == nil)
        #expect(Self.pair(future, future).victim(tag: 1, now: 100, evictIdle: 0) == FlowPlace(set: 0, way: 0))
        // Across the 32-bit wrap of jiffies.
        let wrapped: [UInt32?] = [4, 4, 4, 4, 0xffff_fff0, 2, 3, 4]
        #expect(Self.pair(future, wrapped).victim(tag: 1, now: 5, evictIdle: 20) == FlowPlace(set: 1, way: 4))
        // The kernel compares evict_idle as s32: above 2^31 it is negative, and anything goes.
        #expect(Self.pair(full, full).victim(tag: 1, now: 100, evictIdle: 0x8000_0000) == FlowPlace(set: 0, way: 1))
        // Candidates that coincide: one set, looked at twice.
        let same = FlowCandidateSets(
            indices: FlowCandidates(first: 7, second: 7), first: Self.set(lastSeen: oneFree),
            second: Self.set(lastSeen: oneFree))
        #expect(same.victim(tag: 1, now: 100, evictIdle: 0) == FlowPlace(set: 7, way: 2))
    }

    @Test func insertBudgetSpendsTimeDenominatedCredit() {
        var budget = InsertBudget()
        let start: UInt64 = 5_000_000_000
        let allowed = (0..<1500).count { _ in budget.allow(rate: 1000, now: start) }
        #expect(allowed == 1000, "one second of credit at most: 1000 inserts at 1000/s")
        let early = budget.allow(rate: 1000, now: start + 999_999)
        let onTime = budget.allow(rate: 1000, now: start + 1_000_000 + 999_999)
        #expect(!early)
        #expect(onTime, "1 ms buys one insert")
        // A clock that steps back wraps to a huge gap, capped at one second: as the kernel's u64.
        let back = budget.allow(rate: 1000, now: start - 1)
        #expect(back)
        #expect(budget.creditNs == 1_000_000_000 - 1_000_000 && budget.lastNs == start - 1)
    }

    @Test func statefulEntryLivesThroughItsReports() {
        var table = Self.table(.init(syncRefresh: 100))
        let key = Self.key(1)
        let hash = key.hash
        func send(_ flags: UInt8, at now: UInt32) -> FlowTableReport.Kind? {
            guard let place = table.find(key, hash: hash)?.place else {
                let outcome = table.insert(
                    key, hash: hash, existing: nil, backend: 3, service: 0, stateful: true,
                    tcpFlags: flags, now: DatapathTime(jiffies: UInt64(now)))
                guard case .inserted(let report) = outcome else { return nil }
                return report?.kind
            }
            return table.hit(at: place, now: now, tcpFlags: flags, stateful: true)?.kind
        }
        func flags() -> FlowFlags { table.find(key, hash: hash).flatMap { table.way(at: $0.place)?.flags } ?? [] }

        #expect(send(0x02, at: 10) == nil && flags() == .embryonic, "a SYN makes an embryonic entry, unreported")
        #expect(send(0x02, at: 11) == nil && send(0x12, at: 12) == nil, "more SYNs: still not shared")
        #expect(send(0x10, at: 20) == .new && flags().isEmpty, "the handshake's ACK shares it")
        #expect(send(0x10, at: 119) == nil, "refreshed at most once per syncRefresh")
        #expect(send(0x18, at: 120) == .refresh)
        #expect(send(0x11, at: 130) == .fin && flags() == .closing)
        #expect(send(0x10, at: 400) == nil && send(0x11, at: 401) == nil, "a closing entry stays quiet")
        #expect(send(0x02, at: 410) == nil && flags() == .embryonic, "a SYN starts it over")
        #expect(send(0x10, at: 411) == .new)
        #expect(send(0x04, at: 412) == .rst && flags() == .closing)
        #expect(table.find(key, hash: hash).flatMap { table.way(at: $0.place) }?.synced == 411)
    }

    @Test func udpAndMidStreamFlowsAreReportedAtInsert() {
        var table = Self.table()
        let udp = Self.key(1, proto: 17)
        let tcp = Self.key(2)
        func insert(_ key: FlowKey, stateful: Bool, flags: UInt8) -> FlowTableModel.InsertOutcome {
            table.insert(
                key, hash: key.hash, existing: nil, backend: 1, service: 2, stateful: stateful,
                tcpFlags: flags, now: DatapathTime(jiffies: 7))
        }
        let first = insert(udp, stateful: true, flags: 0)
        let second = insert(tcp, stateful: true, flags: 0x10)
        let stateless = insert(Self.key(3), stateful: false, flags: 0x10)
        #expect(first == .inserted(FlowTableReport(key: udp, backend: 1, service: 2, kind: .new)))
        #expect(second == .inserted(FlowTableReport(key: tcp, backend: 1, service: 2, kind: .new)))
        #expect(stateless == .inserted(nil), "stateless: never reported")
    }

    @Test func lastSeenMovesOnlyAfterTheRefreshInterval() {
        var table = Self.table()
        let key = Self.key(1)
        let hash = key.hash
        _ = table.insert(
            key, hash: hash, existing: nil, backend: 1, service: 0, stateful: false, tcpFlags: 0x02,
            now: DatapathTime(jiffies: 1000))
        let place = table.find(key, hash: hash)?.place ?? FlowPlace(set: 0, way: -1)
        _ = table.hit(at: place, now: 1000 + UInt32(SY_FLOW_REFRESH_JIFFIES), tcpFlags: 0x10, stateful: false)
        #expect(table.way(at: place)?.lastSeen == 1000)
        _ = table.hit(at: place, now: 1001 + UInt32(SY_FLOW_REFRESH_JIFFIES), tcpFlags: 0x10, stateful: false)
        #expect(table.way(at: place)?.lastSeen == 1001 + UInt32(SY_FLOW_REFRESH_JIFFIES))
    }

    @Test func busySetsAndTheBudgetRefuseInserts() {
        var table = Self.table(.init(evictIdle: 50, newFlowRate: 2))
        let now = DatapathTime(jiffies: 100, coarseNs: 10_000_000_000)
        func insert(_ i: Int, at time: DatapathTime) -> FlowTableModel.InsertOutcome {
            table.insert(
                Self.key(i), hash: Self.key(i).hash, existing: nil, backend: 1, service: 0, stateful: false,
                tcpFlags: 0x02, now: time)
        }
        var later = now
        var outcomes = [insert(0, at: now), insert(1, at: now), insert(2, at: now)]
        for second in 1...3 {
            later.coarseNs = now.coarseNs + UInt64(second) * 1_000_000_000
            outcomes += [insert(2 * second, at: later), insert(2 * second + 1, at: later)]
        }
        later.coarseNs += 1_000_000_000
        outcomes.append(insert(8, at: later))
        later.jiffies += 50
        outcomes.append(insert(8, at: later))
        // Two inserts per second; eight fresh flows make the set busy; idle long enough, the idlest
        // way is taken.
        #expect(
            outcomes == [.inserted(nil), .inserted(nil), .rateLimited(nil)] + Array(repeating: .inserted(nil), count: 6)
                + [.setBusy(nil), .inserted(nil)])
        // Every way was last seen at the same jiffy: the first way of the set gives way, whichever
        // flow its preferred-way placement put there.
        #expect(table.count == 8 && table[Self.key(8)] != nil)
        #expect((0..<8).filter { table[Self.key($0)] == nil }.count == 1)
    }

    /// A SYN flood spends the insert budget; an established stateful connection refused by it is
    /// still reported (NEW), so the store and its own agent keep it on its backend.
    @Test func statefulFlowPastTheBudgetIsStillReported() {
        var table = Self.table(.init(evictIdle: 50, newFlowRate: 1))
        let now = DatapathTime(jiffies: 100, coarseNs: 10_000_000_000)
        func insert(_ i: Int, flags: UInt8) -> FlowTableModel.InsertOutcome {
            table.insert(
                Self.key(i), hash: Self.key(i).hash, existing: nil, backend: 1, service: 0, stateful: true,
                tcpFlags: flags, now: now)
        }
        let outcomes = [insert(0, flags: 0x02), insert(1, flags: 0x02), insert(2, flags: 0x10)]
        let report = FlowTableReport(key: Self.key(2), backend: 1, service: 0, kind: .new)
        #expect(outcomes == [.inserted(nil), .rateLimited(nil), .rateLimited(report)], "a SYN: no report; an ACK: NEW")
    }

    @Test func tornEntryIsAMissAndSaysSo() throws {
        var table = Self.table()
        let key = Self.key(1)
        table.install(Self.key(0), .init(backend: 2, service: 0), now: 0)
        table.install(key, .init(backend: 2, service: 0), now: 0)
        let way = try #require(table.find(key, hash: key.hash)?.place.way)
        var set = table.set(0)
        set.ways[way]?.backend = 3 // a second writer's backend, the first writer's check
        table.replaceSet(0, with: set)
        #expect(table.find(key, hash: key.hash).map { [$0.place.way] + ($0.torn ? [1] : []) } == [way, 1])
        #expect(table[key] == nil && table.entries.count == 1)
        // The re-pick rewrites the torn way itself (not an empty one beside it).
        let outcome = table.insert(
            key, hash: key.hash, existing: table.find(key, hash: key.hash)?.place, backend: 4, service: 0,
            stateful: false, tcpFlags: 0x10, now: DatapathTime(jiffies: 5))
        #expect(outcome == .inserted(nil) && table.count == 2 && table.set(0).ways[way]?.backend == 4)
        #expect(table[key] == DatapathTables.FlowEntry(backend: 4, service: 0))
    }

    @Test func installPlacesLikeTheDatapathAndProtectsRemoteEntries() {
        var table = Self.table()
        let entry = DatapathTables.FlowEntry(backend: 1, service: 0)
        let first = table.install(
            Dictionary(uniqueKeysWithValues: (0..<8).map { (Self.key($0), entry) }),
            remote: true, now: 100, evictIdle: 10, protect: 50)
        #expect(first.written == 8 && table.set(0).ways.allSatisfy { $0?.lastSeen == 150 && $0?.flags == .remote })
        let w0 = table.find(Self.key(0), hash: Self.key(0).hash)?.place ?? FlowPlace(set: 0, way: -1)
        let w1 = table.find(Self.key(1), hash: Self.key(1).hash)?.place ?? FlowPlace(set: 0, way: -1)
        let busy = table.install(Self.key(9), entry, now: 120, evictIdle: 10)
        let extended = table.install(Self.key(0), entry, now: 120, evictIdle: 10, protect: 50)
        let unchanged = table.install(Self.key(0), entry, now: 121, evictIdle: 10, protect: 40)
        let moved = table.install(Self.key(1), .init(backend: 2, service: 0), now: 121)
        let evicting = table.install(Self.key(9), entry, now: 200, evictIdle: 10)
        #expect(busy == .busy, "protected until 150")
        #expect(extended == .present(w0, lastSeen: 170))
        #expect(unchanged == .present(w0, lastSeen: nil))
        #expect(moved == .write(w1), "another backend: the key's own way is rewritten")
        #expect(evicting == .write(w1), "the way seen at 121 is the idlest once protection lapses")
        #expect(table[Self.key(9)] == entry && table.way(at: w1)?.flags == [])
    }

    /// With two candidate sets, an entry lives in either: found there, installed into the emptier.
    @Test func keysLiveInEitherCandidateSet() {
        var table = FlowTableModel(layout: FlowTableLayout(setCount: 64))
        let entry = DatapathTables.FlowEntry(backend: 1, service: 0)
        let keys = (0..<2000).map { Self.key($0) }
        let result = table.install(Dictionary(uniqueKeysWithValues: keys.map { ($0, entry) }), now: 10, evictIdle: 5)
        #expect(result.written == 64 * 8 && result.busy == 2000 - 64 * 8, "every way filled: \(result)")
        let placed = keys.compactMap { key in table.find(key, hash: key.hash).map { (key, $0.place) } }
        #expect(placed.count == 64 * 8 && placed.allSatisfy { table[$0.0] == entry })
        let inSecond = placed.count { key, place in
            let c = table.layout.candidates(key.hash)
            return place.set == c.second && c.second != c.first
        }
        #expect(inSecond > 20, "second choices are used: \(inSecond)")
    }

    /// The pipeline counts what the table refused, and the reports a packet causes.
    @Test func pipelineCountsBusySetsAndCarriesReports() throws {
        var tables = DatapathTables(config: SelftestConfig.config())
        tables.flows = FlowTableModel(layout: FlowTableLayout(capacity: 4), policy: .init(evictIdle: 1000))
        let now = DatapathTime(jiffies: 5000)
        var busy = 0
        for i in 0..<10 {
            let frame = try PacketSpec.parse("tcp 10.0.1.\(i + 1):40000 > 10.200.0.10:80 S").frame()
            let result = Pipeline.process(frame, tables: &tables, now: now)
            busy += Int(result.events[SY_EVENT_FLOW_SET_BUSY, default: 0])
            #expect(result.decision?.flow == (i < 8 ? .inserted : .ringOnly))
        }
        #expect(busy == 2 && tables.flows.count == 8)
        let flow = "tcp [2001:db8::2]:40000 > [2001:db8:200::10]:80"
        tables.flows.removeAll()
        let syn = Pipeline.process(try PacketSpec.parse("\(flow) S").frame(), tables: &tables, now: now)
        #expect(syn.reports.isEmpty)
        let reports = Pipeline.process(try PacketSpec.parse("\(flow) A").frame(), tables: &tables, now: now).reports
        #expect(reports.map(\.kind) == [.new])
    }

    /// A stateful flow that finds both its sets busy gets no entry, but is still shared: its
    /// first non-SYN packet (and each after it, while it has no entry) is reported NEW, so the
    /// store keeps it on its backend. SYNs are not (a spoofed flood never reaches the store).
    @Test func statefulFlowWithoutAnEntryIsStillReported() throws {
        var tables = DatapathTables(config: SelftestConfig.config())
        tables.flows = FlowTableModel(layout: FlowTableLayout(capacity: 4), policy: .init(evictIdle: 1000))
        let now = DatapathTime(jiffies: 5000)
        for i in 0..<8 {
            _ = Pipeline.process(
                try PacketSpec.parse("tcp [2001:db8::\(i + 10)]:40000 > [2001:db8:200::10]:80 A").frame(),
                tables: &tables, now: now)
        }
        #expect(tables.flows.count == 8)
        let flow = "tcp [2001:db8::2]:40000 > [2001:db8:200::10]:80"
        let syn = Pipeline.process(try PacketSpec.parse("\(flow) S").frame(), tables: &tables, now: now)
        let ack = Pipeline.process(try PacketSpec.parse("\(flow) A").frame(), tables: &tables, now: now)
        #expect(syn.events[SY_EVENT_FLOW_SET_BUSY] == 1 && syn.reports.isEmpty)
        #expect(ack.events[SY_EVENT_FLOW_SET_BUSY] == 1 && ack.decision?.flow == .ringOnly)
        #expect(ack.reports.map(\.kind) == [.new])
        #expect(ack.reports.first?.backend == ack.decision?.backend)
    }
}
