import Testing

@testable import SwitchyardKubernetes

/// Leader election against one simulated Lease store with a manual clock: requests take time,
/// are applied at some instant in between, may fail before or after being applied, and
/// instances may stall (a long GC pause, a frozen node).
struct LeaseSimulation {
    enum Request {
        case read
        case create(Lease)
        case update(Lease)
    }

    enum Failure {
        case none, beforeApplying, afterApplying
    }

    struct InFlight {
        var instance: Int
        var request: Request
        var applyAt: Duration
        var respondAt: Duration
        var failure: Failure
        var result: Result?
    }

    enum Result {
        case read(Lease?)
        case written(Lease)
        case conflict
        case failed
    }

    var electors: [LeaderElector]
    var lease: Lease?
    var revision = 0
    var now: Duration = .zero
    var inFlight: [InFlight] = []
    var random: SeededGenerator
    /// Per instance: stalled until this time (no ticks, no responses delivered).
    var stalledUntil: [Duration]
    var dead: Set<Int> = []
    var maxDelay: Duration = .milliseconds(1500)
    var failureRate = 0.1
    /// Per instance: every write fails (the API server unreachable from that node).
    var writesFail: Set<Int> = []
    var transcript: [(Int, LeaderElector.Action, Duration)] = []
    let wallStart = KubeTime(seconds: 1_796_047_200)

    init(instances: Int, seed: UInt64) {
        electors = (0..<instances).map { LeaderElector(configuration: .init(identity: "controller-\($0)")) }
        random = SeededGenerator(seed: seed)
        stalledUntil = Array(repeating: .zero, count: instances)
        wallSkew = (0..<instances).map { _ in .zero }
        wallSkew = (0..<instances).map { _ in .seconds(Int64.random(in: -30...30, using: &random)) }
    }

    /// Per instance: how far its wall clock is off (nodes disagree on the time; nothing may depend on it).
    var wallSkew: [Duration]
    var instance = 0

    /// Now as instance `instance` sees it.
    var instant: LeaderElector.Instant {
        LeaderElector.Instant(monotonic: now, wall: wallStart.adding(now + wallSkew[instance]))
    }

    func leaders() -> [Int] { electors.indices.filter { electors[$0].isLeader(at: now) } }

    func active(_ index: Int) -> Bool { !dead.contains(index) && now >= stalledUntil[index] }

    /// Advances to `end` in `step`s, checking after every step that at most one instance leads.
    mutating func run(until end: Duration, step: Duration = .milliseconds(50)) -> Bool {
        var safe = true
        while now < end {
            now += step
            applyDueRequests()
            deliverDueResponses()
            for index in electors.indices where active(index) {
                instance = index
                perform(electors[index].tick(at: instant), for: index)
            }
            if leaders().count > 1 { safe = false }
        }
        return safe
    }

    mutating func perform(_ actions: [LeaderElector.Action], for index: Int) {
        for action in actions {
            transcript.append((index, action, now))
            switch action {
            case .readLease: send(.read, from: index)
            case .createLease(let lease): send(.create(lease), from: index)
            case .updateLease(let lease): send(.update(lease), from: index)
            case .becameLeader, .lostLeadership, .wakeUp: break
            }
        }
    }

    mutating func send(_ request: Request, from index: Int) {
        let total = Duration.milliseconds(Int64.random(in: 1...Int64(maxDelay / .milliseconds(1)), using: &random))
        let apply = Duration.milliseconds(Int64.random(in: 0...Int64(total / .milliseconds(1)), using: &random))
        var failure = Failure.none
        if case .read = request {
        } else if writesFail.contains(index) {
            failure = .beforeApplying
        } else if Double.random(in: 0..<1, using: &random) < failureRate {
            failure = Bool.random(using: &random) ? .beforeApplying : .afterApplying
        }
        inFlight.append(
            InFlight(
                instance: index, request: request, applyAt: now + apply, respondAt: now + total, failure: failure,
                result: nil))
    }

    mutating func applyDueRequests() {
        for index in inFlight.indices where inFlight[index].result == nil && inFlight[index].applyAt <= now {
            let request = inFlight[index]
            if request.failure == .beforeApplying {
                inFlight[index].result = .failed
                continue
            }
            /// The server's one revision counter: a write that passes its precondition gets the next.
            func accept(_ written: Lease) -> Result {
                var stored = written
                revision += 1
                stored.metadata.resourceVersion = String(revision)
                lease = stored
                return .written(stored)
            }
            var result: Result
            switch request.request {
            case .read:
                result = .read(lease)
            case .create(let new):
                result = lease != nil ? .conflict : accept(new)
            case .update(let new):
                let current = lease != nil && lease?.metadata.resourceVersion == new.metadata.resourceVersion
                result = current ? accept(new) : .conflict
            }
            if request.failure == .afterApplying { result = .failed }
            inFlight[index].result = result
        }
    }

    mutating func deliverDueResponses() {
        var remaining: [InFlight] = []
        let current = inFlight
        // Responses cause new requests (appended to `inFlight` by `send`).
        inFlight = []
        for request in current {
            guard let result = request.result, request.respondAt <= now, active(request.instance) else {
                if !dead.contains(request.instance) { remaining.append(request) }
                continue
            }
            let index = request.instance
            instance = index
            let actions: [LeaderElector.Action]
            switch result {
            case .read(let lease): actions = electors[index].leaseObserved(lease, at: instant)
            case .written(let lease): actions = electors[index].writeSucceeded(lease, at: instant)
            case .conflict: actions = electors[index].writeConflicted(at: instant)
            case .failed: actions = electors[index].writeFailed("simulated failure", at: instant)
            }
            perform(actions, for: index)
        }
        inFlight = remaining + inFlight
    }
}

@Suite struct LeaderElectorTests {
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func twoInstancesNeverBothLeadAtAnyInstant(seed: UInt64) {
        var simulation = LeaseSimulation(instances: 2, seed: seed)
        simulation.failureRate = 0.2
        var safe = true
        var leadership = 0
        var random = SeededGenerator(seed: seed &* 31)
        for _ in 0..<40 {
            // Now and then stall one instance longer than the lease (a frozen process).
            let victim = Int.random(in: 0..<2, using: &random)
            if Bool.random(using: &random) {
                simulation.stalledUntil[victim] = simulation.now + .seconds(Int64.random(in: 1...25, using: &random))
            }
            safe = simulation.run(until: simulation.now + .seconds(10)) && safe
            if !simulation.leaders().isEmpty { leadership += 1 }
            // A stopped (lost) instance is replaced by a fresh one, as a restarted pod would be.
            for index in simulation.electors.indices where simulation.electors[index].hasStopped {
                simulation.electors[index] = LeaderElector(
                    configuration: .init(identity: "controller-\(index)-\(seed)"))
            }
        }
        #expect(safe)
        #expect(leadership > 5, "someone should lead most of the time")
    }

    @Test func theFirstInstanceCreatesTheLeaseAndLeads() {
        var simulation = LeaseSimulation(instances: 1, seed: 1)
        simulation.failureRate = 0
        _ = simulation.run(until: .seconds(3))
        #expect(simulation.leaders() == [0])
        #expect(
            simulation.lease?.spec.holderIdentity == "controller-0" && simulation.lease?.spec.leaseDurationSeconds == 15
        )
        #expect(simulation.transcript.contains { $0.1 == .becameLeader })
    }

    @Test func anotherInstanceTakesOverOnlyAfterTheLeaseExpires() throws {
        var simulation = LeaseSimulation(instances: 2, seed: 9)
        simulation.failureRate = 0
        simulation.maxDelay = .milliseconds(200)
        simulation.dead = [1]
        _ = simulation.run(until: .seconds(5))
        #expect(simulation.leaders() == [0])
        simulation.dead = []
        _ = simulation.run(until: .seconds(10))
        #expect(simulation.leaders() == [0])
        // The leader dies; its last renewal was at most retryPeriod + delay ago.
        simulation.dead = [0]
        let diedAt = simulation.now
        var takeover: Duration?
        while simulation.now < diedAt + .seconds(30), takeover == nil {
            _ = simulation.run(until: simulation.now + .milliseconds(50))
            if simulation.electors[1].isLeader(at: simulation.now) { takeover = simulation.now }
        }
        let at = try #require(takeover)
        #expect(at >= diedAt + .seconds(13), "not before the lease could have expired")
        #expect(at <= diedAt + .seconds(15) + .seconds(5), "soon after it expired")
        #expect(simulation.lease?.spec.leaseTransitions == 1)
    }

    @Test func aLeaderThatCannotRenewStepsDownBeforeTheLeaseExpires() throws {
        var simulation = LeaseSimulation(instances: 1, seed: 3)
        simulation.wallSkew = [.zero]
        simulation.failureRate = 0
        simulation.maxDelay = .milliseconds(100)
        _ = simulation.run(until: .seconds(6))
        #expect(simulation.leaders() == [0])
        let renewal = try #require(simulation.lease?.spec.renewTime.flatMap { KubeTime($0) })
        let renewedAt =
            Duration.seconds(renewal.seconds - simulation.wallStart.seconds)
            + .microseconds(Int64(renewal.microseconds))
        simulation.writesFail = [0]
        _ = simulation.run(until: .seconds(30))
        #expect(simulation.leaders().isEmpty && simulation.electors[0].hasStopped)
        let lost = try #require(
            simulation.transcript.firstIndex { if case .lostLeadership = $0.1 { true } else { false } })
        #expect(simulation.transcript[(lost + 1)...].allSatisfy { if case .updateLease = $0.1 { false } else { true } })
        // It stopped within renewDeadline of its last good renewal, well before leaseDuration.
        let stoppedAt = simulation.transcript[lost].2
        #expect(stoppedAt <= renewedAt + .seconds(10) + .milliseconds(50))
        #expect(stoppedAt < renewedAt + .seconds(15))
    }

    @Test func leadershipEndsAtTheRenewDeadlineEvenWithoutATick() {
        var elector = LeaderElector(configuration: .init(identity: "a"))
        let start = LeaderElector.Instant(monotonic: .seconds(1), wall: KubeTime(seconds: 100))
        #expect(elector.tick(at: start).first == .readLease)
        guard case .createLease(let lease) = elector.leaseObserved(nil, at: start).first else {
            Issue.record("expected a create")
            return
        }
        var created = lease
        created.metadata.resourceVersion = "1"
        let later = LeaderElector.Instant(monotonic: .seconds(2), wall: KubeTime(seconds: 101))
        #expect(elector.writeSucceeded(created, at: later).first == .becameLeader)
        #expect(elector.isLeader(at: .seconds(10)))
        // Counted from when the write was SENT (1 s), not when it succeeded (2 s).
        #expect(!elector.isLeader(at: .seconds(11)))
    }

    @Test func aGracefulShutdownReleasesTheLeaseSoASuccessorNeedNotWait() throws {
        var simulation = LeaseSimulation(instances: 2, seed: 5)
        simulation.failureRate = 0
        simulation.maxDelay = .milliseconds(100)
        simulation.dead = [1]
        _ = simulation.run(until: .seconds(5))
        simulation.dead = []
        _ = simulation.run(until: .seconds(8))
        #expect(simulation.leaders() == [0])
        let actions = simulation.electors[0].shutdownRequested(at: simulation.instant)
        #expect(actions.first == .lostLeadership(reason: "shutting down"))
        guard case .updateLease(let released) = actions.last else {
            Issue.record("expected the release")
            return
        }
        #expect(released.spec.holderIdentity == nil && released.spec.leaseDurationSeconds == 1)
        simulation.perform([actions.last].compactMap { $0 }, for: 0)
        let stoppedAt = simulation.now
        _ = simulation.run(until: stoppedAt + .seconds(5))
        #expect(simulation.leaders() == [1], "taken over within a few retry periods, not a lease duration")
    }

    @Test func configurationIsValidatedLikeClientGo() {
        #expect(LeaderElector.Configuration(identity: "a").validationErrors.isEmpty)
        #expect(!LeaderElector.Configuration(identity: "").validationErrors.isEmpty)
        let inverted = LeaderElector.Configuration(
            identity: "a", leaseDuration: .seconds(10), renewDeadline: .seconds(15))
        #expect(inverted.validationErrors.contains { $0.contains("greater than renewDeadline") })
    }
}
