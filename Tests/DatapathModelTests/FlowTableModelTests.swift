import DatapathFixtures
import SwitchyardABI
import SwitchyardCore
import Testing

@testable import DatapathModel

/// The flow table's rules on their own (bpf/conntrack.h): victim choice, the busy rule, the
/// insert budget, the stateful life of an entry and its reports, torn entries, and the
/// user-space placement. The kernel is held to the same rules by FlowTablePressureTests.
@Suite struct FlowTableModelTests {
    /// One set of four ways: every key lands in it.
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

    @Test func layoutRoundsUpToWholePowerOfTwoSets() {
        #expect(FlowTableLayout(capacity: 4).setCount == 1)
        #expect(FlowTableLayout(capacity: 1000).setCount == 256)
        #expect(FlowTableLayout(capacity: 1025).setCount == 512)
        #expect(FlowTableLayout(setMask: 255) == FlowTableLayout(capacity: 1024))
        #expect(FlowTableLayout.tag(0) == 1, "a tag is never 0, the empty mark")
    }

    @Test func victimIsAnEmptyWayElseTheIdlestIfIdleLongEnough() {
        let full = Self.set(lastSeen: [10, 5, 20, 5])
        // Idle 90, 95, 80, 95: the first of the idlest.
        #expect(FlowTableModel.victim(in: full, now: 100, evictIdle: 95) == 1)
        #expect(FlowTableModel.victim(in: full, now: 100, evictIdle: 96) == nil, "busy set: nobody is evicted")
        #expect(FlowTableModel.victim(in: Self.set(lastSeen: [10, 5, nil, 5]), now: 100, evictIdle: 1000) == 2)
        // A last-seen in the future (a protected remote entry) counts as idle 0.
        #expect(FlowTableModel.victim(in: Self.set(lastSeen: [150, 150, 150, 150]), now: 100, evictIdle: 1) == nil)
        #expect(FlowTableModel.victim(in: Self.set(lastSeen: [150, 150, 150, 150]), now: 100, evictIdle: 0) == 0)
        // Across the 32-bit wrap of jiffies.
        #expect(FlowTableModel.victim(in: Self.set(lastSeen: [0xffff_fff0, 2, 3, 4]), now: 5, evictIdle: 20) == 0)
        // The kernel compares evict_idle as s32: above 2^31 it is negative, and anything goes.
        #expect(FlowTableModel.victim(in: full, now: 100, evictIdle: 0x8000_0000) == 1)
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
            guard let w = table.find(key, hash: hash).way else {
                let outcome = table.insert(
                    key, hash: hash, existing: nil, backend: 3, service: 0, stateful: true,
                    tcpFlags: flags, now: DatapathTime(jiffies: UInt64(now)))
                guard case .inserted(let report) = outcome else { return nil }
                return report?.kind
            }
            return table.hit(way: w, hash: hash, now: now, tcpFlags: flags, stateful: true)?.kind
        }
        func flags() -> FlowFlags { table.find(key, hash: hash).way.flatMap { table.way($0, hash: hash)?.flags } ?? [] }

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
        #expect(table.way(table.find(key, hash: hash).way ?? -1, hash: hash)?.synced == 411)
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
        let w = table.find(key, hash: hash).way ?? -1
        _ = table.hit(way: w, hash: hash, now: 1000 + UInt32(SY_FLOW_REFRESH_JIFFIES), tcpFlags: 0x10, stateful: false)
        #expect(table.way(w, hash: hash)?.lastSeen == 1000)
        _ = table.hit(way: w, hash: hash, now: 1001 + UInt32(SY_FLOW_REFRESH_JIFFIES), tcpFlags: 0x10, stateful: false)
        #expect(table.way(w, hash: hash)?.lastSeen == 1001 + UInt32(SY_FLOW_REFRESH_JIFFIES))
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
        later.coarseNs += 1_000_000_000
        outcomes += [insert(2, at: later), insert(3, at: later)]
        later.coarseNs += 1_000_000_000
        outcomes.append(insert(4, at: later))
        later.jiffies += 50
        outcomes.append(insert(4, at: later))
        // Two inserts per second; four fresh flows make the set busy; idle long enough, the idlest
        // way is taken.
        #expect(
            outcomes == [
                .inserted(nil), .inserted(nil), .rateLimited, .inserted(nil), .inserted(nil), .setBusy,
                .inserted(nil),
            ])
        #expect(table.count == 4 && table[Self.key(4)] != nil && table[Self.key(0)] == nil)
    }

    @Test func tornEntryIsAMissAndSaysSo() {
        var table = Self.table()
        let key = Self.key(1)
        table.install(key, .init(backend: 2, service: 0), now: 0)
        var set = table.set(0)
        set.ways[0]?.backend = 3 // a second writer's backend, the first writer's check
        table.replaceSet(0, with: set)
        #expect(table.find(key, hash: key.hash) == (nil, true))
        #expect(table[key] == nil && table.entries.isEmpty)
    }

    @Test func installPlacesLikeTheDatapathAndProtectsRemoteEntries() {
        var table = Self.table()
        let entry = DatapathTables.FlowEntry(backend: 1, service: 0)
        let first = table.install(
            Dictionary(uniqueKeysWithValues: (0..<4).map { (Self.key($0), entry) }),
            remote: true, now: 100, evictIdle: 10, protect: 50)
        #expect(first.written == 4 && table.set(0).ways.allSatisfy { $0?.lastSeen == 150 && $0?.flags == .remote })
        let busy = table.install(Self.key(9), entry, now: 120, evictIdle: 10)
        let extended = table.install(Self.key(0), entry, now: 120, evictIdle: 10, protect: 50)
        let unchanged = table.install(Self.key(0), entry, now: 121, evictIdle: 10, protect: 40)
        let moved = table.install(Self.key(1), .init(backend: 2, service: 0), now: 121)
        let evicting = table.install(Self.key(9), entry, now: 200, evictIdle: 10)
        #expect(busy == .busy, "protected until 150")
        #expect(extended == .present(way: 0, lastSeen: 170))
        #expect(unchanged == .present(way: 0, lastSeen: nil))
        #expect(moved == .write(way: 1), "another backend: the key's own way is rewritten")
        #expect(evicting == .write(way: 1), "way 1 (seen 121) is the idlest once protection lapses")
        #expect(table[Self.key(9)] == entry && table.set(0).ways[1]?.flags == [])
    }

    /// The pipeline counts what the table refused, and the reports a packet causes.
    @Test func pipelineCountsBusySetsAndCarriesReports() throws {
        var tables = DatapathTables(config: SelftestConfig.config())
        tables.flows = FlowTableModel(layout: FlowTableLayout(capacity: 4), policy: .init(evictIdle: 1000))
        let now = DatapathTime(jiffies: 5000)
        var busy = 0
        for i in 0..<6 {
            let frame = try PacketSpec.parse("tcp 10.0.1.\(i + 1):40000 > 10.200.0.10:80 S").frame()
            let result = Pipeline.process(frame, tables: &tables, now: now)
            busy += Int(result.events[SY_EVENT_FLOW_SET_BUSY, default: 0])
            #expect(result.decision?.flow == (i < 4 ? .inserted : .ringOnly))
        }
        #expect(busy == 2 && tables.flows.count == 4)
        let flow = "tcp [2001:db8::2]:40000 > [2001:db8:200::10]:80"
        tables.flows.removeAll()
        let syn = Pipeline.process(try PacketSpec.parse("\(flow) S").frame(), tables: &tables, now: now)
        #expect(syn.reports.isEmpty)
        let reports = Pipeline.process(try PacketSpec.parse("\(flow) A").frame(), tables: &tables, now: now).reports
        #expect(reports.map(\.kind) == [.new])
    }
}
