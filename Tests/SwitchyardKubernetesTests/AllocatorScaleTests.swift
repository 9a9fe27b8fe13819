import Testing

@testable import SwitchyardKubernetes

/// A thousand Services: a cold start and a restart stay fast, and the restart changes nothing.
@Suite struct AllocatorScaleTests {
    @Test func aThousandServicesColdStartAndRestart() throws {
        let pools = [makePool("big", ["10.0.0.0/20", "2001:db8::/64"])]
        let services = (0..<1000).map { makeService("s\($0)", namespace: "ns\($0 % 10)", age: $0) }
        let clock = ContinuousClock()
        var cluster = AllocatorHarness()
        let cold = clock.measure { cluster.start(pools: pools, services: services) }
        #expect(cluster.allocator.assignments.count == 1000)
        #expect(cluster.ingress(key("s999", "ns9")) == ["10.0.3.231"])
        var restarted = AllocatorHarness()
        restarted.services = cluster.services
        restarted.pools = cluster.pools
        let warm = clock.measure { restarted.start(pools: []) }
        #expect(restarted.actions.isEmpty, "a restart imports everything and writes nothing")
        #expect(restarted.allocator.assignments == cluster.allocator.assignments)
        print("1000 Services: cold start with status writes \(cold), restart import \(warm)")
    }
}
