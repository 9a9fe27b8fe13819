import SwitchyardCore
import Testing

@testable import SwitchyardControl

/// The flow store's queue, backoff and reconnect order, driven by a manual clock.
@Suite struct FlowSyncStateMachineTests {
    typealias Machine = FlowSyncStateMachine

    static func write(_ n: Int) -> FlowStoreWrite {
        .put(FlowRecord(service: "s", flow: World.flow(n), backend: "b", origin: "lb1"), seconds: 60, announce: true)
    }

    static func batches(_ actions: [Machine.Action]) -> [[FlowStoreWrite]] {
        actions.compactMap { if case .write(let w) = $0 { w } else { nil } }
    }

    static func timers(_ actions: [Machine.Action]) -> [(Machine.Timer, Duration)] {
        actions.compactMap { if case .armTimer(let t, let at) = $0 { (t, at) } else { nil } }
    }

    @Test func oneBatchInFlightTheRestWaitsInOrder() {
        var m = Machine(store: "redis")
        #expect(Self.batches(m.writesQueued([Self.write(1)], at: .zero)) == [[Self.write(1)]])
        #expect(m.writesQueued([Self.write(2), Self.write(3)], at: .milliseconds(1)).isEmpty)
        #expect(m.counts.pending == 2)
        let next = m.writeCompleted(.init(), at: .milliseconds(2))
        #expect(Self.batches(next) == [[Self.write(2), Self.write(3)]])
        #expect(m.counts.pending == 0)
    }

    @Test func aFailedBatchIsRetriedFirstAfterAnExponentialBackoff() {
        var m = Machine(store: "redis")
        var clock = Duration.zero
        _ = m.writesQueued([Self.write(1)], at: clock)
        var actions = m.writeFailed(error: "connection refused", at: clock)
        #expect(actions.contains(.storeReachable(false)))
        #expect(Self.timers(actions).map(\.1) == [.milliseconds(100)])
        _ = m.writesQueued([Self.write(2)], at: .milliseconds(50))
        #expect(m.counts.pending == 2, "nothing sent before the backoff ends")
        clock = .milliseconds(100)
        actions = m.timerFired(.retryWrites, at: clock)
        #expect(Self.batches(actions) == [[Self.write(1), Self.write(2)]], "the failed batch goes first")
        actions = m.writeFailed(error: "connection refused", at: clock)
        #expect(!actions.contains(.storeReachable(false)), "reported once per outage")
        #expect(Self.timers(actions).map(\.1) == [clock + .milliseconds(200)], "the backoff doubles")
        for _ in 0..<10 {
            clock = Self.timers(actions).last?.1 ?? clock
            actions = m.timerFired(.retryWrites, at: clock)
            actions = m.writeFailed(error: "x", at: clock)
        }
        #expect(Self.timers(actions).map { $0.1 - clock } == [.seconds(5)], "capped at 5 s")
        #expect(m.counts.storeFailures == 12)
        clock = Self.timers(actions)[0].1
        _ = m.timerFired(.retryWrites, at: clock)
        let back = m.writeCompleted(.init(), at: clock)
        #expect(back.contains(.storeReachable(true)))
        #expect(Self.batches(m.writesQueued([Self.write(3)], at: clock)) == [[Self.write(3)]], "no backoff once back")
    }

    @Test func writesQueuedDuringAFailedBatchGoAfterIt() {
        var m = Machine(store: "redis")
        _ = m.writesQueued([Self.write(1)], at: .zero)
        _ = m.writesQueued([Self.write(2)], at: .milliseconds(1))
        _ = m.writeFailed(error: "reset", at: .milliseconds(2))
        let retried = Self.batches(m.timerFired(.retryWrites, at: .milliseconds(102)))
        #expect(retried == [[Self.write(1), Self.write(2)]], "a flow's older write must not land after its newer one")
    }

    @Test func anEarlyTimerSendsNothing() {
        var m = Machine(store: "redis")
        _ = m.writesQueued([Self.write(1)], at: .zero)
        _ = m.writeFailed(error: "x", at: .zero)
        let early = m.timerFired(.retryWrites, at: .milliseconds(40))
        #expect(Self.batches(early).isEmpty)
        #expect(Self.timers(early).map(\.1) == [.milliseconds(100)], "re-armed for the real deadline")
    }

    @Test func aFullQueueDropsTheOldestAndCountsThem() {
        var m = Machine(store: "redis", maxPending: 3)
        _ = m.writesQueued([Self.write(0)], at: .zero)
        _ = m.writeFailed(error: "x", at: .zero)
        let actions = m.writesQueued((1...4).map(Self.write), at: .milliseconds(10))
        #expect(m.counts.dropped == 2)
        #expect(m.counts.pending == 3)
        #expect(
            actions.contains { if case .log(let r) = $0 { r.message.contains("oldest writes dropped") } else { false } }
        )
        let quiet = m.writesQueued([Self.write(5)], at: .milliseconds(20))
        #expect(!quiet.contains { if case .log = $0 { true } else { false } }, "logged once per outage")
        let sent = Self.batches(m.timerFired(.retryWrites, at: .milliseconds(100)))
        #expect(sent == [[Self.write(3), Self.write(4), Self.write(5)]])
    }

    @Test func redirectedWritesAreRetriedNotRefused() {
        var m = Machine(store: "redis")
        _ = m.writesQueued([Self.write(1), Self.write(2), Self.write(3)], at: .zero)
        let outcome = Machine.WriteOutcome(
            retry: [Self.write(2)], refused: ["oom": 1], errors: ["oom": 1, "moved": 1],
            firstRefusal: "OOM command not allowed")
        let actions = m.writeCompleted(outcome, at: .milliseconds(5))
        #expect(m.counts.retried == 1)
        #expect(m.counts.refused == ["oom": 1], "a redirect is not a refusal")
        #expect(m.counts.errors == ["oom": 1, "moved": 1])
        #expect(Self.batches(actions).isEmpty, "a short pause before the redirected writes go again")
        #expect(Self.batches(m.timerFired(.retryWrites, at: .milliseconds(105))) == [[Self.write(2)]])
    }

    @Test func batchesAreBounded() {
        var m = Machine(store: "redis")
        let many = (0..<(Machine.maxBatch + 5)).map(Self.write)
        #expect(Self.batches(m.writesQueued(many, at: .zero)).map(\.count) == [Machine.maxBatch])
        #expect(Self.batches(m.writeCompleted(.init(), at: .zero)).map(\.count) == [5])
    }

    @Test func reconnectRewritesOwnEntriesThenReloadsTheStore() {
        var m = Machine(store: "redis")
        #expect(m.started(at: .zero) == [.subscribe])
        #expect(m.subscribed(at: .zero) == [.loadSnapshot], "first subscription: no outage to repair")
        #expect(m.snapshotLoaded(records: 10, installed: 10, at: .zero).isEmpty)
        let lost = m.subscriptionFailed(error: "EOF", at: .seconds(1))
        #expect(lost.contains(.storeReachable(false)))
        #expect(Self.timers(lost).map(\.1) == [.seconds(1) + .milliseconds(100)])
        #expect(m.subscribed(at: .seconds(1)).isEmpty, "nothing happens while waiting")
        #expect(m.timerFired(.resubscribe, at: .milliseconds(1100)) == [.subscribe])
        let failedAgain = m.subscriptionFailed(error: "refused", at: .milliseconds(1100))
        #expect(!failedAgain.contains(.storeReachable(false)))
        #expect(Self.timers(failedAgain).map(\.1) == [.milliseconds(1300)])
        #expect(m.timerFired(.resubscribe, at: .milliseconds(1300)) == [.subscribe])
        #expect(m.subscribed(at: .milliseconds(1301)) == [.rewriteOwnEntries], "a restarted store comes back empty")
        #expect(m.ownEntriesWritten(7, at: .milliseconds(1302)) == [.loadSnapshot])
        #expect(m.counts.recoveries == 1 && m.counts.rewritten == 7)
        let restored = m.snapshotLoaded(records: 12, installed: 5, at: .milliseconds(1303))
        #expect(restored.contains(.storeReachable(true)))
        #expect(
            restored.contains {
                if case .log(let r) = $0 { r.metadata["own_entries_rewritten"] == "7" } else { false }
            })
        #expect(
            m.subscriptionFailed(error: "EOF", at: .seconds(5)).contains(.storeReachable(false)),
            "a later outage is reported again")
    }

    /// A cluster still failing over answers some of the re-written entries with CLUSTERDOWN or
    /// TRYAGAIN: those go back to the queue and out again after a pause, never dropped.
    @Test func rewrittenEntriesTheStoreAsksToRetryAreSentAgain() {
        var m = Machine(store: "redis-cluster")
        _ = m.started(at: .zero)
        _ = m.subscribed(at: .zero)
        _ = m.snapshotLoaded(records: 0, installed: 0, at: .zero)
        _ = m.subscriptionFailed(error: "primary replaced", at: .seconds(1))
        _ = m.timerFired(.resubscribe, at: .milliseconds(1100))
        #expect(m.subscribed(at: .milliseconds(1100)) == [.rewriteOwnEntries])
        let outcome = Machine.WriteOutcome(
            retry: [Self.write(1), Self.write(2)], errors: ["clusterdown": 2])
        let actions = m.ownEntriesWritten(5, outcome: outcome, at: .milliseconds(1200))
        #expect(actions.first == .loadSnapshot)
        #expect(Self.timers(actions).map(\.1) == [.milliseconds(1300)])
        #expect(m.counts.pending == 2 && m.counts.retried == 2 && m.counts.errors["clusterdown"] == 2)
        #expect(m.counts.recoveries == 1 && m.counts.rewritten == 5)
        #expect(Self.batches(m.timerFired(.retryWrites, at: .milliseconds(1300))) == [[Self.write(1), Self.write(2)]])
    }

    /// A store that keeps answering "later" (a lost cluster shard: CLUSTERDOWN) is asked less and
    /// less often, up to 5 s; one answered batch resets the pause.
    @Test func repeatedRetriesBackOff() {
        var m = Machine(store: "redis-cluster")
        _ = m.writesQueued([Self.write(1)], at: .zero)
        let later = Machine.WriteOutcome(retry: [Self.write(1)], errors: ["clusterdown": 1])
        var now = Duration.zero
        var pauses: [Duration] = []
        for _ in 0..<8 {
            let actions = m.writeCompleted(later, at: now)
            guard let (_, at) = Self.timers(actions).first else { break }
            pauses.append(at - now)
            now = at
            #expect(Self.batches(m.timerFired(.retryWrites, at: now)) == [[Self.write(1)]])
        }
        #expect(pauses.map { $0 / .milliseconds(1) } == [100, 200, 400, 800, 1600, 3200, 5000, 5000])
        #expect(m.writeCompleted(.init(), at: now).isEmpty)
        _ = m.writesQueued([Self.write(2)], at: now)
        #expect(Self.timers(m.writeCompleted(later, at: now)).map(\.1) == [now + .milliseconds(100)])
    }
}
