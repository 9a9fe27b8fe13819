import SwitchyardCore
import Testing

@testable import SwitchyardControl

/// Each rule of `AnnouncementPolicy` has a test that fails when the rule is removed: a VIP that
/// is fine in every other respect is announced, and breaking exactly one fact withholds it with
/// exactly that fact's reason.
@Suite struct AnnouncementPolicyTests {
    static let vip4 = IPAddress("198.51.100.10")!
    static let vip6 = IPAddress("2001:db8::10")!
    static let ready = VIPAnnouncementFacts(
        programmed: true, attached: true, needsFlowStore: true, flowStoreLoaded: true, healthyBackends: 2,
        shard: 1)

    static func broken(_ reason: AnnouncementWithheldReason) -> VIPAnnouncementFacts {
        var facts = ready
        switch reason {
        case .otherShard: facts.shard = 2
        case .notProgrammed: facts.programmed = false
        case .notAttached: facts.attached = false
        case .storeNotLoaded: facts.flowStoreLoaded = false
        case .noHealthyBackend: facts.healthyBackends = 0
        case .healthSettling: facts.risingBackends = 1
        case .draining: break
        }
        return facts
    }

    /// Backends still coming back hold back a VIP not yet announced, never withdraw an announced one.
    @Test func risingBackendsHoldBackOnlyAVIPNotYetAnnounced() {
        let policy = AnnouncementPolicy(drainPeriod: .seconds(30), nodeShard: 1)
        var rising = Self.ready
        rising.risingBackends = 1
        var announcedRising = rising
        announcedRising.announced = true
        let decision = policy.decide([Self.vip4: rising, Self.vip6: announcedRising], at: .zero)
        #expect(decision.withheld == [Self.vip4: .healthSettling])
        #expect(decision.announced == [Self.vip6: .normal])
    }

    @Test func aReadyVIPIsAnnouncedNormally() {
        let policy = AnnouncementPolicy(drainPeriod: .seconds(30), nodeShard: 1)
        let decision = policy.decide([Self.vip4: Self.ready, Self.vip6: Self.ready], at: .zero)
        #expect(decision.announced == [Self.vip4: .normal, Self.vip6: .normal])
        #expect(decision.withheld.isEmpty)
        #expect(decision.reevaluateAt == nil)
    }

    @Test(arguments: AnnouncementWithheldReason.allCases.filter { $0 != .draining })
    func eachMissingFactWithholdsWithItsReason(_ reason: AnnouncementWithheldReason) {
        let policy = AnnouncementPolicy(drainPeriod: .seconds(30), nodeShard: 1)
        let decision = policy.decide([Self.vip4: Self.broken(reason), Self.vip6: Self.ready], at: .zero)
        #expect(decision.withheld == [Self.vip4: reason])
        #expect(decision.announced == [Self.vip6: .normal])
    }

    @Test func aStatelessVIPNeedsNoLoadedStore() {
        var facts = Self.ready
        facts.needsFlowStore = false
        facts.flowStoreLoaded = false
        let decision = AnnouncementPolicy(drainPeriod: .seconds(1), nodeShard: 1).decide([Self.vip4: facts], at: .zero)
        #expect(decision.announced == [Self.vip4: .normal])
    }

    @Test func shardsMatchOrTheVIPHasNone() {
        var unsharded = Self.ready
        unsharded.shard = nil
        let onShardOne = AnnouncementPolicy(drainPeriod: .seconds(1), nodeShard: 1)
        #expect(onShardOne.decide([Self.vip4: unsharded], at: .zero).announced == [Self.vip4: .normal])
        let unshardedNode = AnnouncementPolicy(drainPeriod: .seconds(1), nodeShard: nil)
        #expect(unshardedNode.decide([Self.vip4: Self.ready], at: .zero).withheld == [Self.vip4: .otherShard])
        #expect(unshardedNode.decide([Self.vip4: unsharded], at: .zero).announced == [Self.vip4: .normal])
    }

    @Test func theFirstReasonWinsInDeclaredOrder() {
        var facts = Self.broken(.notAttached)
        facts.healthyBackends = 0
        facts.programmed = false
        let policy = AnnouncementPolicy(drainPeriod: .seconds(1), nodeShard: 1)
        #expect(policy.decide([Self.vip4: facts], at: .zero).withheld == [Self.vip4: .notProgrammed])
        facts.shard = 7
        #expect(policy.decide([Self.vip4: facts], at: .zero).withheld == [Self.vip4: .otherShard])
    }

    @Test func drainingAnnouncesWithGracefulShutdownThenWithdrawsAtTheEndOfThePeriod() {
        var policy = AnnouncementPolicy(drainPeriod: .seconds(30), nodeShard: 1)
        let vips = [Self.vip4: Self.ready, Self.vip6: Self.broken(.noHealthyBackend)]
        policy.startDraining(at: .seconds(100))

        let during = policy.decide(vips, at: .seconds(129))
        #expect(during.announced == [Self.vip4: .gracefulShutdown])
        #expect(during.withheld == [Self.vip6: .noHealthyBackend], "a real reason is not hidden by the drain")
        #expect(during.reevaluateAt == .seconds(130), "the caller must be told when the drain period ends")

        let after = policy.decide(vips, at: .seconds(130))
        #expect(after.announced.isEmpty)
        #expect(after.withheld == [Self.vip4: .draining, Self.vip6: .noHealthyBackend])
        #expect(after.reevaluateAt == nil)
    }

    @Test func repeatingTheDrainRequestDoesNotProlongIt() {
        var policy = AnnouncementPolicy(drainPeriod: .seconds(10), nodeShard: 1)
        policy.startDraining(at: .seconds(0))
        policy.startDraining(at: .seconds(8))
        #expect(policy.decide([Self.vip4: Self.ready], at: .seconds(10)).withheld == [Self.vip4: .draining])
    }

    @Test func stoppingTheDrainAnnouncesNormallyAgain() {
        var policy = AnnouncementPolicy(drainPeriod: .seconds(10), nodeShard: 1)
        policy.startDraining(at: .zero)
        #expect(policy.decide([Self.vip4: Self.ready], at: .seconds(20)).withheld == [Self.vip4: .draining])
        policy.stopDraining()
        let decision = policy.decide([Self.vip4: Self.ready], at: .seconds(21))
        #expect(decision.announced == [Self.vip4: .normal])
        #expect(decision.reevaluateAt == nil)
    }
}
