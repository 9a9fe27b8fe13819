import DatapathModel
import SwitchyardABI
import SwitchyardCore
import Testing

@testable import SwitchyardControl

/// A small world for the agent's state machine: one service, backends by last octet.
enum World {
    static let web = ServiceKey(vip: IPAddress("10.200.0.10")!, port: 80, proto: .tcp)

    static func backend(_ octet: Int) -> BackendKey {
        BackendKey(service: web, backend: BackendIdentity(address: IPAddress("10.1.0.\(octet)")!, port: 80))
    }

    static func config(
        _ octets: [Int], mode: ServiceMode = .stateless, check: HealthCheck? = nil,
        store: FlowStoreSettings? = nil, mtu: Int = 1500
    ) -> SwitchyardConfig {
        let backends = octets.map { Backend(address: IPAddress("10.1.0.\($0)")!, port: 80) }
        return SwitchyardConfig(
            node: NodeSettings(
                name: "lb1", ipv4Source: IPv4Address(10, 0, 0, 11), mtu: mtu, maglevTableSize: 1009,
                flowStore: store),
            services: [Service(name: "web", key: web, mode: mode, backends: backends, healthCheck: check)])
    }

    static func flow(_ n: Int) -> FlowKey {
        FlowKey(
            source: IPAddress("192.0.2.\(n % 250 + 1)")!, destination: IPAddress("10.200.0.10")!,
            sourcePort: UInt16(n % 60000 + 1024),
            destinationPort: 80, proto: 6)
    }

    /// A state started over `config`, with the start's programming and save done.
    static func started(_ config: SwitchyardConfig) throws -> AgentState {
        var state = AgentState(config: config, savedAllocation: nil)
        _ = try state.starting(reusedPinnedMaps: false)
        _ = state.programmed(ProgrammingResult())
        _ = state.allocationPersisted()
        return state
    }
}

extension [AgentAction] {
    var programs: [DatapathTables] { compactMap { if case .program(let t, _) = $0 { t } else { nil } } }
    var persisted: [IDAllocation] { compactMap { if case .persistAllocation(let a) = $0 { a } else { nil } } }
    var purges: [Set<UInt32>] { compactMap { if case .purgeFlows(let b) = $0 { b } else { nil } } }
    var storeWrites: [FlowStoreWrite] {
        flatMap { action -> [FlowStoreWrite] in if case .writeStore(let w) = action { w } else { [] } }
    }
    var timers: [AgentTimer] { compactMap { if case .armTimer(let t, _) = $0 { t } else { nil } } }
    var logs: [AgentLogRecord] { compactMap { if case .log(let r) = $0 { r } else { nil } } }
    var probeSets: [[ProbeTarget]] { compactMap { if case .runProbes(let p) = $0 { p } else { nil } } }
}

@Suite struct AgentStateConfigTests {
    @Test func startAllocatesSavesThenPrograms() throws {
        var state = AgentState(config: World.config([1, 2]), savedAllocation: nil)
        let actions = try state.starting(reusedPinnedMaps: true)
        #expect(actions.logs.contains { $0.message.contains("without a saved id allocation") })
        let saveAt = try #require(actions.firstIndex { if case .persistAllocation = $0 { true } else { false } })
        let programAt = try #require(actions.firstIndex { if case .program = $0 { true } else { false } })
        #expect(saveAt < programAt, "ids are durable before the datapath names them")
        #expect(actions.programs.first?.services[World.web] != nil)
    }

    @Test func aRejectedConfigChangesNothing() throws {
        var state = try World.started(World.config([1, 2]))
        let before = state.config
        let actions = state.configRejected(errors: ["f.yaml:3: node.mtu: expected an integer"], trigger: "SIGHUP")
        #expect(actions.programs.isEmpty && actions.persisted.isEmpty)
        #expect(state.config == before)
        #expect(state.counts.reloadsFailed == 1)
        #expect(actions.logs.map(\.metadata["error"]) == ["f.yaml:3: node.mtu: expected an integer"])
    }

    @Test func anUnchangedConfigDoesNotReprogram() throws {
        var state = try World.started(World.config([1, 2]))
        let actions = state.configLoaded(World.config([1, 2]), trigger: "file changed")
        #expect(actions.programs.isEmpty)
        #expect(actions.logs.map(\.message) == ["config unchanged"])
    }

    @Test func aReloadTheDatapathRefusesRestoresTheRunningConfig() throws {
        var state = try World.started(World.config([1, 2]))
        let runningTables = state.desiredTables()
        let runningAllocation = state.allocation
        let reload = state.configLoaded(World.config([1, 3]), trigger: "SIGHUP")
        #expect(reload.programs.count == 1)
        #expect(state.config == World.config([1, 3]), "tentatively applied while the datapath is programmed")
        let failed = state.programmingFailed(error: "E2BIG")
        #expect(state.config == World.config([1, 2]))
        #expect(state.allocation == runningAllocation)
        #expect(failed.persisted == [runningAllocation], "the restored allocation is saved again")
        #expect(failed.programs == [runningTables], "the datapath is re-programmed with the running config")
        #expect(state.counts.reloadsFailed == 1 && state.counts.reloadsOK == 0)
        #expect(failed.logs.contains { $0.level == .error && $0.message.contains("running config kept") })
        _ = state.programmed(ProgrammingResult())
        #expect(state.counts.reloadsOK == 0, "the restore is not a successful reload")
    }

    @Test func aSuccessfulReloadCountsAndLogsEachChange() throws {
        var state = try World.started(World.config([1, 2]))
        var actions = state.configLoaded(World.config([1, 3]), trigger: "SIGHUP")
        let messages = actions.logs.map { "\($0.message) \($0.metadata["backend"] ?? "")" }
        #expect(messages.contains("backend added 10.1.0.3:80"))
        #expect(messages.contains("backend removed 10.1.0.2:80"))
        actions = state.programmed(ProgrammingResult(ringsSwapped: 1))
        #expect(state.counts.reloadsOK == 1 && state.counts.ringRebuilds == 1)
    }
}

@Suite struct AgentStateIdTests {
    @Test func aRemovedBackendsIndexIsPurgedBeforeReuse() throws {
        var state = try World.started(World.config([1, 2]))
        let two = try #require(state.allocation.backendIndex(World.backend(2)))
        _ = state.configLoaded(World.config([1, 3]), trigger: "t")
        let three = try #require(state.allocation.backendIndex(World.backend(3)))
        #expect(three != two, "a newcomer never gets an index flows may still name")
        let programmed = state.programmed(ProgrammingResult())
        #expect(programmed.purges == [[two]])
        // Another reload before the purge finished still avoids it.
        _ = state.configLoaded(World.config([1, 3, 4]), trigger: "t")
        #expect(state.allocation.backendIndex(World.backend(4)) != two)
        _ = state.programmed(ProgrammingResult())
        let purged = state.flowsPurged(
            [ScannedFlow(key: World.flow(1), entry: .init(backend: two, service: 0))],
            backends: [two])
        #expect(state.allocation.retired.isEmpty)
        #expect(purged.persisted.count == 1, "the freed index is saved as free")
        #expect(purged.storeWrites.isEmpty, "stateless: nothing in the store")
    }

    @Test func statefulPurgesDeleteTheFlowsFromTheStoreByName() throws {
        var state = try World.started(World.config([1, 2], mode: .stateful))
        let two = try #require(state.allocation.backendIndex(World.backend(2)))
        _ = state.configLoaded(World.config([1], mode: .stateful), trigger: "t")
        _ = state.programmed(ProgrammingResult())
        let actions = state.flowsPurged(
            [ScannedFlow(key: World.flow(7), entry: .init(backend: two, service: 0))],
            backends: [two])
        let record = FlowRecord(
            service: "10.200.0.10:80/tcp", flow: World.flow(7), backend: "10.1.0.2:80", origin: "lb1")
        #expect(actions.storeWrites == [.delete(record)])
        #expect(state.sharing?.purged == 1)
    }

    @Test func aFailedPurgeKeepsTheIndexRetiredAndRetries() throws {
        var state = try World.started(World.config([1, 2]))
        _ = state.configLoaded(World.config([1]), trigger: "t")
        _ = state.programmed(ProgrammingResult())
        let failed = state.purgeFailed(error: "EPERM")
        #expect(failed.timers == [.retryPurge])
        #expect(state.allocation.retired.count == 1)
        #expect(state.timerFired(.retryPurge).purges.count == 1)
    }

    @Test func aFailedSaveIsCountedLoggedAndRetried() throws {
        var state = try World.started(World.config([1, 2]))
        _ = state.configLoaded(World.config([1, 2, 3]), trigger: "t")
        let first = state.allocationPersistFailed(error: "ENOSPC")
        #expect(state.counts.allocationSaveFailures == 1)
        #expect(first.logs.contains { $0.level == .error })
        #expect(first.timers == [.retryPersist])
        #expect(state.allocationPersistFailed(error: "ENOSPC").timers.isEmpty, "one timer at a time")
        #expect(state.timerFired(.retryPersist).persisted == [state.allocation])
        _ = state.allocationPersisted()
        #expect(state.timerFired(.retryPersist).persisted.isEmpty, "nothing left to save")
    }
}

@Suite struct AgentStateHealthTests {
    static let check = HealthCheck(kind: .tcp, intervalSeconds: 1, timeoutSeconds: 0.5, rise: 2, fall: 2)

    @Test func probeTargetsFollowTheConfig() throws {
        var state = AgentState(config: World.config([1, 2], check: Self.check), savedAllocation: nil)
        let start = try state.starting(reusedPinnedMaps: false)
        #expect(start.probeSets.map { $0.map(\.key) } == [[World.backend(1), World.backend(2)]])
        _ = state.programmed(ProgrammingResult())
        let reload = state.configLoaded(World.config([2, 3], check: Self.check), trigger: "t")
        #expect(reload.probeSets.map { $0.map(\.key) } == [[World.backend(2), World.backend(3)]])
        let noCheck = state.configLoaded(World.config([2, 3]), trigger: "t")
        #expect(noCheck.probeSets == [[]])
    }

    @Test func fallFailuresTakeABackendOutOfTheRing() throws {
        var state = try World.started(World.config([1, 2], check: Self.check))
        let two = try #require(state.allocation.backendIndex(World.backend(2)))
        #expect(state.probeReported(World.backend(2), ok: false, detail: "refused", at: .seconds(1)).isEmpty)
        let down = state.probeReported(World.backend(2), ok: false, detail: "refused", at: .seconds(2))
        let log = try #require(down.logs.first)
        #expect(log.message == "backend health changed")
        #expect(
            log.metadata["old"] == "up" && log.metadata["new"] == "down" && log.metadata["backend"] == "10.1.0.2:80")
        let tables = try #require(down.programs.first)
        #expect(tables.backends[two]?.state == .down)
        #expect(tables.rings.values.allSatisfy { !$0.contains(two) })
        _ = state.programmed(ProgrammingResult())
        _ = state.probeReported(World.backend(2), ok: true, detail: "ok", at: .seconds(3))
        let up = state.probeReported(World.backend(2), ok: true, detail: "ok", at: .milliseconds(4500))
        #expect(up.logs.first?.metadata["old_for_ms"] == "2500")
        #expect(up.programs.first?.backends[two]?.state == .up)
    }

    @Test func resultsForRemovedBackendsAreIgnored() throws {
        var state = try World.started(World.config([1, 2], check: Self.check))
        _ = state.configLoaded(World.config([1], check: Self.check), trigger: "t")
        _ = state.programmed(ProgrammingResult())
        for second in 1...5 {
            #expect(state.probeReported(World.backend(2), ok: false, detail: "x", at: .seconds(second)).isEmpty)
        }
    }

    @Test func aHealthProgrammingFailureIsRetriedByTimer() throws {
        var state = try World.started(World.config([1, 2], check: HealthCheck(rise: 1, fall: 1)))
        _ = state.probeReported(World.backend(1), ok: false, detail: "x", at: .seconds(1))
        let failed = state.programmingFailed(error: "EBUSY")
        #expect(failed.timers == [.reprogram])
        #expect(state.counts.programmingFailures == 1)
        let retry = state.timerFired(.reprogram)
        let index = try #require(state.allocation.backendIndex(World.backend(1)))
        #expect(retry.programs.first?.backends[index]?.state == .down, "the retry programs the current health")
    }
}

@Suite struct AgentStateFlowSharingTests {
    static let store = FlowStoreSettings(kind: .redis, host: "127.0.0.1", port: 6379)

    @Test func reportsBecomeWritesWithTheirLifetimes() throws {
        var state = try World.started(World.config([1, 2], mode: .stateful, store: Self.store))
        let one = try #require(state.allocation.backendIndex(World.backend(1)))
        let service = try #require(state.allocation.serviceID(World.web))
        let reports: [FlowReport] = [
            .init(key: World.flow(1), backend: one, service: service, kind: .new),
            .init(key: World.flow(2), backend: one, service: service, kind: .refresh),
            .init(key: World.flow(3), backend: one, service: service, kind: .fin),
            .init(key: World.flow(4), backend: one, service: service, kind: .rst),
            .init(key: World.flow(5), backend: 999, service: service, kind: .new),
        ]
        let actions = state.flowReportsArrived(reports)
        func record(_ n: Int) -> FlowRecord {
            FlowRecord(service: "10.200.0.10:80/tcp", flow: World.flow(n), backend: "10.1.0.1:80", origin: "lb1")
        }
        let s = Self.store
        #expect(
            actions.storeWrites == [
                .put(record(1), seconds: s.newFlowSeconds, announce: true),
                .put(record(2), seconds: s.tcpIdleSeconds, announce: true),
                .put(record(3), seconds: s.closingSeconds, announce: false),
                .delete(record(4)),
            ])
        #expect(actions.first == .removeFlows([World.flow(4)]), "a reset flow leaves this node's table too")
        #expect(state.sharing?.published == 1 && state.sharing?.refreshed == 1 && state.sharing?.ended == 2)
        // A new flow is also kept here: one the datapath found no way for gets one, or the overflow.
        #expect(actions.contains(.keepOwnFlows([World.flow(1): .init(backend: one, service: service)])))
        _ = state.ownFlowsKept(FlowInstallResult(written: 2, present: 5, busy: 1))
        #expect(state.sharing?.ownPlaced == 2 && state.sharing?.ownOverflow == 1)
    }

    @Test func statelessNodesWriteNothing() throws {
        var state = try World.started(World.config([1]))
        #expect(state.flowReportsArrived([.init(key: World.flow(1), backend: 0, service: 0, kind: .new)]).isEmpty)
    }

    @Test func recordsFromOthersResolveByName() throws {
        var state = try World.started(World.config([1, 2], mode: .stateful, store: Self.store))
        let two = try #require(state.allocation.backendIndex(World.backend(2)))
        let service = try #require(state.allocation.serviceID(World.web))
        let records = [
            FlowRecord(service: "10.200.0.10:80/tcp", flow: World.flow(1), backend: "10.1.0.2:80", origin: "lb2"),
            FlowRecord(service: "10.200.0.10:80/tcp", flow: World.flow(2), backend: "10.1.0.2:80", origin: "lb1"),
            FlowRecord(service: "10.200.0.10:80/tcp", flow: World.flow(3), backend: "10.1.0.9:80", origin: "lb2"),
            FlowRecord(service: "10.200.0.99:80/tcp", flow: World.flow(4), backend: "10.1.0.2:80", origin: "lb2"),
        ]
        let actions = state.flowRecordsArrived(records)
        #expect(actions == [.installFlows([World.flow(1): .init(backend: two, service: service)])])
        #expect(state.sharing?.unresolved == 2)
        _ = state.flowsInstalled(FlowInstallResult(written: 1))
        #expect(state.sharing?.installed == 1)
    }

    @Test func ownEntriesAreOnlyLiveLocalStatefulOnes() throws {
        var state = try World.started(World.config([1], mode: .stateful, store: Self.store))
        let one = try #require(state.allocation.backendIndex(World.backend(1)))
        let entry = DatapathTables.FlowEntry(backend: one, service: 0)
        let flows = [
            ScannedFlow(key: World.flow(1), entry: entry),
            ScannedFlow(key: World.flow(2), entry: entry, flags: SY_FLOW_F_REMOTE),
            ScannedFlow(key: World.flow(3), entry: entry, flags: SY_FLOW_F_CLOSING),
            ScannedFlow(key: World.flow(4), entry: entry, flags: SY_FLOW_F_EMBRYONIC),
        ]
        let writes = state.ownEntryWrites(flows)
        #expect(writes.map(\.record.flow) == [World.flow(1)])
        _ = state.storeLost()
        #expect(state.sharing?.storeReachable == false)
    }
}
