import ArgumentParser
import Foundation
import Logging
import SwitchyardController
import SwitchyardKubeClient
import SwitchyardKubernetes

/// Allocation and status writes for N Services, from a cold start and after a restart (import),
/// against a real API server (scripts/bench-controller.sh starts the test one). The baseline,
/// measured in the same run with the same client and concurrency: N plain status PATCHes — what
/// the server and the wire cost with no decisions at all.
struct ControllerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Controller: allocate + write status for N Services cold and after a restart, vs. N bare PATCHes.",
        discussion: """
            Needs an API server with the AddressPool CRD installed. Creates the namespace switchyard-bench-<hex>, a pool
            switchyard-bench-<hex> (198.18.0.0/16) and N Services in it, and deletes them at the end.
            """)

    @Option(help: "A kubeconfig file.") var kubeconfig: String
    @Option(help: "How many Services.") var services: Int = 1000
    @Option(help: "Status writes in flight at once (controller and baseline alike).") var inFlight: Int = 16
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let client = try KubeClient(connection: try Kubeconfig.load(path: kubeconfig).connection())
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let namespace = "switchyard-bench-\(tag)"
        let clock = ContinuousClock()

        // The pure allocator alone (no I/O): cold and import, median of 5 after a warm-up.
        let pure = Self.pureAllocatorFigures(services: services, clock: clock)

        _ = try await client.create(Namespace(metadata: ObjectMeta(name: namespace)), namespace: nil)
        var pool = AddressPool(
            metadata: ObjectMeta(name: namespace), spec: AddressPoolSpec(addresses: ["198.18.0.0/16"]))
        pool.spec.serviceAllocation = AddressPoolSpec.ServiceAllocation(namespaces: [namespace])
        _ = try await client.create(pool, namespace: nil)
        let created = clock.now
        try await Self.concurrently(services, inFlight) { index in
            _ = try await client.create(Self.service(index, namespace: namespace), namespace: namespace)
        }
        let createSeconds = Self.seconds(created.duration(to: clock.now))

        // Baseline: N status PATCHes (another writer's condition, which the controller keeps).
        let floorStart = clock.now
        try await Self.concurrently(services, inFlight) { index in
            let body = Data(
                (#"{"status":{"conditions":[{"type":"bench.switchyard.io/Floor","status":"True","#
                    + #""lastTransitionTime":"2026-01-01T00:00:00Z","reason":"Floor","message":"baseline write"}]}}"#)
                    .utf8)
            _ = try await client.patch(
                Service.self, namespace: namespace, name: "bench-\(index)", subresource: "status", body: body)
        }
        let floorSeconds = Self.seconds(floorStart.duration(to: clock.now))

        var options = ControllerOptions(
            namespace: namespace, leaseName: "bench", identity: "bench-cold",
            leaseDuration: .seconds(15), renewDeadline: .seconds(10), retryPeriod: .milliseconds(200))
        options.maxWritesInFlight = inFlight
        // Cold start: from nothing to N addresses written (lease, lists, decisions, writes).
        let cold = Controller(client: client, options: options, logger: logger)
        let coldStart = clock.now
        let coldTask = Task { try await cold.run() }
        let coldCounters = try await Self.waitUntil(cold) { $0.synced && $0.serviceWrites >= services }
        let coldSeconds = Self.seconds(coldStart.duration(to: clock.now))
        let drained = try await Self.waitUntil(cold) { $0.backlog == 0 }
        let drainedSeconds = Self.seconds(coldStart.duration(to: clock.now))
        coldTask.cancel()
        _ = await coldTask.result

        // Restart: a fresh instance imports every address; it should write nothing.
        options.identity = "bench-restart"
        let restart = Controller(client: client, options: options, logger: logger)
        let restartStart = clock.now
        let restartTask = Task { try await restart.run() }
        _ = try await Self.waitUntil(restart) { $0.synced && $0.assigned >= services }
        let restartSeconds = Self.seconds(restartStart.duration(to: clock.now))
        try await Task.sleep(for: .milliseconds(500)) // room for any write it would (wrongly) make
        let restartCounters = await restart.snapshot
        restartTask.cancel()
        _ = await restartTask.result

        try? await client.delete(Namespace.self, namespace: nil, name: namespace)
        try? await client.delete(AddressPool.self, namespace: nil, name: namespace)
        try await client.shutdown()

        let figures: [(String, Double)] = [
            ("pure allocator, cold (ms)", pure.cold * 1e3),
            ("pure allocator, import after restart (ms)", pure.restart * 1e3),
            ("baseline: \(services) bare status PATCHes (s)", floorSeconds),
            ("controller cold start: \(services) allocated and written (s)", coldSeconds),
            ("controller cold start: every Event and pool status written too (s)", drainedSeconds),
            ("controller restart: synced, \(services) imported (s)", restartSeconds),
        ]
        let ratio = coldSeconds / max(floorSeconds, 1e-9)
        if json {
            let object: [String: Any] = [
                "services": services, "in_flight": inFlight, "create_s": createSeconds,
                "pure_cold_ms": pure.cold * 1e3, "pure_restart_ms": pure.restart * 1e3,
                "pure_restart_writes": pure.restartWrites, "floor_s": floorSeconds, "cold_s": coldSeconds,
                "cold_writes": coldCounters.serviceWrites, "cold_conflicts": coldCounters.serviceWriteConflicts,
                "cold_events": drained.events, "cold_pool_writes": drained.poolWrites, "cold_all_s": drainedSeconds,
                "restart_s": restartSeconds,
                "restart_writes": restartCounters.serviceWrites, "cold_over_floor": ratio,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(
            "controller bench: \(services) Services, \(inFlight) writes in flight (created in \(fmt(createSeconds)) s)")
        for (name, value) in figures {
            print("  \(name.padding(toLength: 66, withPad: " ", startingAt: 0)) \(fmt(value))")
        }
        print(
            "  cold start / baseline = \(fmt(ratio))x; cold writes \(coldCounters.serviceWrites), "
                + "409s \(coldCounters.serviceWriteConflicts), then events \(drained.events), "
                + "pool status writes \(drained.poolWrites); "
                + "restart writes \(restartCounters.serviceWrites) (pure: \(pure.restartWrites))")
    }

    private func fmt(_ value: Double) -> String { String(format: "%.3f", value) }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func service(_ index: Int, namespace: String) -> Service {
        var service = Service(metadata: ObjectMeta(name: "bench-\(index)", namespace: namespace))
        service.spec = ServiceSpec(
            type: "LoadBalancer", loadBalancerClass: SwitchyardGroup.defaultLoadBalancerClass,
            ports: [ServicePort(protocol: "TCP", port: 80)])
        return service
    }

    static func pureAllocatorFigures(services count: Int, clock: ContinuousClock)
        -> (cold: Double, restart: Double, restartWrites: Int)
    {
        let pool = AddressPool(metadata: ObjectMeta(name: "p"), spec: AddressPoolSpec(addresses: ["198.18.0.0/16"]))
        let now = KubeTime(seconds: 1_800_000_000)
        let pending = (0..<count).map { index -> Service in
            var service = service(index, namespace: "bench")
            service.metadata.uid = "u\(index)"
            service.metadata.resourceVersion = "\(index + 10)"
            service.metadata.creationTimestamp = KubeTime(seconds: 1_700_000_000 + Int64(index)).rfc3339
            return service
        }
        var written: [Service] = []
        var coldTimes: [Double] = []
        var restartTimes: [Double] = []
        var restartWrites = 0
        for round in 0..<6 {
            var allocator = AddressAllocator()
            var actions: [AllocatorAction] = []
            let cold = clock.measure {
                _ = allocator.handle(.poolsListed([pool]), at: now)
                _ = allocator.handle(.namespacesListed([Namespace(metadata: ObjectMeta(name: "bench"))]), at: now)
                actions = allocator.handle(.servicesListed(pending), at: now)
            }
            if round == 0 {
                var byKey = Dictionary(pending.map { (NamespacedName($0), $0) }) { $1 }
                for case .writeServiceStatus(let write) in actions {
                    if let service = byKey[write.key] { byKey[write.key] = write.applied(to: service) }
                }
                written = Array(byKey.values)
            }
            var fresh = AddressAllocator()
            var again: [AllocatorAction] = []
            let restart = clock.measure {
                _ = fresh.handle(.poolsListed([pool]), at: now)
                _ = fresh.handle(.namespacesListed([Namespace(metadata: ObjectMeta(name: "bench"))]), at: now)
                again = fresh.handle(.servicesListed(written), at: now)
            }
            restartWrites =
                again.filter { if case .writeServiceStatus = $0 { return true } else { return false } }.count
            if round > 0 { // round 0 is the warm-up
                coldTimes.append(seconds(cold))
                restartTimes.append(seconds(restart))
            }
        }
        return (coldTimes.sorted()[coldTimes.count / 2], restartTimes.sorted()[restartTimes.count / 2], restartWrites)
    }

    static func concurrently(_ count: Int, _ width: Int, _ body: @escaping @Sendable (Int) async throws -> Void)
        async throws
    {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            while next < min(width, count) {
                let index = next
                group.addTask { try await body(index) }
                next += 1
            }
            while try await group.next() != nil, next < count {
                let index = next
                group.addTask { try await body(index) }
                next += 1
            }
            try await group.waitForAll()
        }
    }

    static func waitUntil(_ controller: Controller, _ done: (ControllerCounters) -> Bool) async throws
        -> ControllerCounters
    {
        while true {
            let counters = await controller.snapshot
            if done(counters) { return counters }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
