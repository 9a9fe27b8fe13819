import Testing

import enum SwitchyardCore.IPAddress

@testable import SwitchyardKubernetes

/// Random pool, namespace and Service events with every write executed and fed back (sometimes
/// late, so conflicts happen), and controller restarts from the server's state, checking the
/// allocator's promises after every step.
@Suite struct AllocatorPropertyTests {
    static let namespaceNames = ["a", "b", "c"]
    static let poolEntries = [
        "10.0.0.0/29", "10.0.0.4-10.0.0.12", "10.0.1.0/30", "10.0.2.0/31", "2001:db8::/126", "2001:db8::2-2001:db8::9",
        "10.0.3.0/24", "bogus",
    ]

    struct Step: CustomStringConvertible {
        var description: String
        /// The Service the step changed (its own change may move or drop its address).
        var subject: NamespacedName?
    }

    @Test(arguments: [11, 12] as [UInt64])
    func randomEventsKeepTheAllocatorsPromises(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        var cluster = AllocatorHarness()
        cluster.start(
            pools: [randomPool("p0", &random), randomPool("p1", &random)],
            namespaces: Self.namespaceNames.map { makeNamespace($0) })
        var creation = 0
        var ownChanges: Set<NamespacedName> = []
        var eventCount = 0
        for stepNumber in 0..<1000 {
            let before = liveAddresses(cluster)
            let step = randomStep(&cluster, &random, creation: &creation)
            if stepNumber % 97 == 96 {
                // A controller restart: a fresh allocator lists the server's state.
                cluster.settle()
                let live = liveAddresses(cluster)
                eventCount += cluster.events.count
                var restarted = AllocatorHarness()
                restarted.services = cluster.services
                restarted.pools = cluster.pools
                restarted.revision = cluster.revision
                restarted.start(pools: [], namespaces: Array(cluster.namespaces.values))
                cluster = restarted
                try #require(liveAddresses(cluster) == live, "a restart changed addresses (step \(stepNumber))")
            }
            let after = liveAddresses(cluster)
            // Writes may land steps later (held back): a Service's own change counts until then.
            if let subject = step.subject { ownChanges.insert(subject) }
            for (key, addresses) in before
            where !Set(addresses).isSubset(of: Set(after[key] ?? [])) && !ownChanges.contains(key)
                && !movedToItsRequest(cluster, key, from: addresses, to: after[key] ?? [])
            {
                let stillThere = cluster.services[key].map { cluster.allocator.isOurs($0) } ?? false
                try #require(
                    !stillThere, "\(key) lost \(addresses) → \(after[key] ?? []) at step \(stepNumber): \(step)")
            }
            if cluster.serviceWrites.isEmpty { ownChanges.removeAll() }
            try checkNoUnsharableDuplicates(cluster, step: stepNumber)
            try checkReasons(cluster, step: stepNumber)
        }
        // Quiet: everything written, the server agrees, and feeding it all back does nothing.
        cluster.autoSettle = true
        cluster.settle()
        for (key, service) in cluster.services where cluster.allocator.isOurs(service) {
            let decided = (cluster.allocator.assignments[key] ?? []).map(\.description)
            #expect(cluster.ingress(key) == decided, "\(key)")
        }
        for service in cluster.services.values {
            #expect(cluster.allocator.handle(.serviceUpserted(service), at: cluster.now).isEmpty)
        }
        for pool in cluster.pools.values {
            #expect(cluster.allocator.handle(.poolUpserted(pool), at: cluster.now).isEmpty)
        }
        eventCount += cluster.events.count
        #expect(eventCount > 50 && cluster.allocator.assignments.count > 3, "the run did something")
    }

    /// A Service waiting for the address it requested (keeping its old one meanwhile) moves
    /// when that address becomes free: the one move the rules allow outside its own change.
    func movedToItsRequest(
        _ cluster: AllocatorHarness, _ key: NamespacedName, from before: [String], to after: [String]
    ) -> Bool {
        guard let service = cluster.services[key] else { return false }
        let list = service.metadata.annotations?[SwitchyardNames.loadBalancerIPs] ?? ""
        let requested = Set(
            (list.split(separator: ",").map(String.init) + [service.spec.loadBalancerIP ?? ""]).compactMap {
                IPAddress($0)?.description
            })
        let gained = Set(after).subtracting(before)
        let lost = Set(before).subtracting(after)
        return !gained.isEmpty && gained.isSubset(of: requested) && lost.count <= gained.count
    }

    /// What the server says each Service of ours holds.
    func liveAddresses(_ cluster: AllocatorHarness) -> [NamespacedName: [String]] {
        var result: [NamespacedName: [String]] = [:]
        for (key, service) in cluster.services where cluster.allocator.isOurs(service) {
            let ingress = cluster.ingress(key)
            if !ingress.isEmpty { result[key] = ingress.sorted() }
        }
        return result
    }

    func checkNoUnsharableDuplicates(_ cluster: AllocatorHarness, step: Int) throws {
        var holders: [IPAddress: [NamespacedName]] = [:]
        for (key, addresses) in cluster.allocator.assignments {
            for address in addresses { holders[address, default: []].append(key) }
        }
        for (address, keys) in holders where keys.count > 1 {
            let sorted = keys.sorted()
            for (index, first) in sorted.enumerated() {
                for second in sorted[(index + 1)...] {
                    let a = try #require(cluster.services[first])
                    let b = try #require(cluster.services[second])
                    let problem = sharingProblem(a, b)
                    try #require(
                        problem == nil, "\(address) held by \(first) and \(second): \(problem ?? "") (step \(step))")
                }
            }
        }
    }

    /// The sharing rules, written again independently of the allocator.
    func sharingProblem(_ a: Service, _ b: Service) -> String? {
        let keyA = a.metadata.annotations?[SwitchyardNames.allowSharedIP]
        let keyB = b.metadata.annotations?[SwitchyardNames.allowSharedIP]
        guard let keyA, keyA == keyB else { return "sharing keys \(keyA ?? "-") / \(keyB ?? "-")" }
        let crossA = a.metadata.annotations?[SwitchyardNames.sharingCrossNamespace] == "true"
        let crossB = b.metadata.annotations?[SwitchyardNames.sharingCrossNamespace] == "true"
        if a.metadata.namespace != b.metadata.namespace, !(crossA && crossB) { return "namespaces" }
        let portsA = Set((a.spec.ports ?? []).map { "\($0.port)/\($0.protocol ?? "TCP")" })
        let portsB = Set((b.spec.ports ?? []).map { "\($0.port)/\($0.protocol ?? "TCP")" })
        if !portsA.isDisjoint(with: portsB) { return "ports" }
        return nil
    }

    func checkReasons(_ cluster: AllocatorHarness, step: Int) throws {
        let pending: Set<AssignmentReason> = [
            .noMatchingPool, .poolExhausted, .requestedIPUnavailable, .sharingConflict, .invalidAnnotation,
        ]
        let assignments = cluster.allocator.assignments
        for (key, service) in cluster.services where cluster.allocator.isOurs(service) {
            guard let decided = cluster.allocator.assignmentReason(for: key) else { continue }
            if assignments[key] == nil {
                try #require(pending.contains(decided.reason), "\(key) pending with \(decided.reason) (step \(step))")
                try #require(!decided.message.isEmpty, "\(key): a pending Service says why")
            }
        }
    }

    // MARK: - Random events

    func randomStep(_ cluster: inout AllocatorHarness, _ random: inout SeededGenerator, creation: inout Int) -> Step {
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<40:
            creation += 1
            let service = randomService(&random, age: creation)
            let key = NamespacedName(service)
            if var existing = cluster.services[key] {
                existing.spec = service.spec
                existing.metadata.annotations = service.metadata.annotations
                existing.metadata.labels = service.metadata.labels
                cluster.update(key) { $0 = existing }
                return Step(description: "update \(key)", subject: key)
            }
            cluster.create(service)
            return Step(description: "create \(key)", subject: key)
        case 40..<55:
            guard let key = cluster.services.keys.sorted().randomElement(using: &random) else {
                return Step(description: "nothing")
            }
            cluster.delete(key)
            return Step(description: "delete \(key)", subject: key)
        case 55..<67:
            let name = "p\(Int.random(in: 0..<4, using: &random))"
            cluster.apply(randomPool(name, &random))
            return Step(description: "apply pool \(name)")
        case 67..<72:
            let name = "p\(Int.random(in: 0..<4, using: &random))"
            cluster.deletePool(name)
            return Step(description: "delete pool \(name)")
        case 72..<80:
            let name = Self.namespaceNames.randomElement(using: &random) ?? "a"
            let labels = Bool.random(using: &random) ? ["env": "prod"] : [:]
            cluster.namespaces[name] = makeNamespace(name, labels: labels)
            cluster.feed(.namespaceUpserted(makeNamespace(name, labels: labels)))
            return Step(description: "namespace \(name) \(labels)")
        case 80..<90:
            // Hold writes back for a while: user changes then race them (409s).
            cluster.autoSettle.toggle()
            if cluster.autoSettle { cluster.settle() }
            return Step(description: "autoSettle \(cluster.autoSettle)")
        default:
            // A write that comes back late: run just one queued write.
            if !cluster.serviceWrites.isEmpty {
                let write = cluster.serviceWrites.removeFirst()
                cluster.applyServiceWrite(write)
            }
            return Step(description: "one late write")
        }
    }

    func randomPool(_ name: String, _ random: inout SeededGenerator) -> AddressPool {
        let count = Int.random(in: 1...2, using: &random)
        var entries: [String] = []
        for _ in 0..<count {
            let entry = Self.poolEntries[Int.random(in: 0..<(Self.poolEntries.count - 1), using: &random)]
            if !entries.contains(entry) { entries.append(entry) }
        }
        if Int.random(in: 0..<15, using: &random) == 0 { entries.append("bogus") }
        let selectors: [LabelSelector]? =
            Int.random(in: 0..<5, using: &random) == 0 ? [LabelSelector(matchLabels: ["env": "prod"])] : nil
        return makePool(
            name, entries, autoAssign: Int.random(in: 0..<5, using: &random) == 0 ? false : nil,
            avoidBuggyIPs: Bool.random(using: &random) ? true : nil,
            disabled: Int.random(in: 0..<8, using: &random) == 0 ? true : nil,
            priority: Bool.random(using: &random) ? Int32.random(in: 0..<3, using: &random) : nil,
            namespaceSelectors: selectors,
            defaults: Bool.random(using: &random) ? .init(mode: "stateful") : nil)
    }

    func randomService(_ random: inout SeededGenerator, age: Int) -> Service {
        let namespace = Self.namespaceNames.randomElement(using: &random) ?? "a"
        let name = "s\(Int.random(in: 0..<14, using: &random))"
        var annotations: [String: String] = [:]
        if Int.random(in: 0..<3, using: &random) == 0 {
            annotations[SwitchyardNames.allowSharedIP] = ["k1", "k2"].randomElement(using: &random)
        }
        if Int.random(in: 0..<6, using: &random) == 0 { annotations[SwitchyardNames.sharingCrossNamespace] = "true" }
        if Int.random(in: 0..<5, using: &random) == 0 {
            annotations[SwitchyardNames.loadBalancerIPs] =
                ["10.0.0.1", "10.0.0.5", "10.0.1.2", "2001:db8::1", "10.0.0.2,2001:db8::3", "nope", "10.9.9.9"]
                .randomElement(using: &random)
        }
        if Int.random(in: 0..<8, using: &random) == 0 {
            annotations[SwitchyardNames.mode] = ["stateless", "stateful", "bad"].randomElement(using: &random)
        }
        if Int.random(in: 0..<8, using: &random) == 0 {
            annotations[SwitchyardNames.addressPool] = ["p0", "p2", "zz"].randomElement(using: &random)
        }
        let type = Int.random(in: 0..<10, using: &random) == 0 ? "ClusterIP" : "LoadBalancer"
        let serviceClass: String? = Int.random(in: 0..<12, using: &random) == 0 ? "example.com/other" : lbClass
        let portChoices: [[(Int32, String)]] = [
            [(80, "TCP")], [(443, "TCP")], [(53, "UDP")], [(80, "TCP"), (53, "UDP")],
        ]
        let families: [([String]?, String?)] = [
            (nil, nil), (["IPv4"], "SingleStack"), (["IPv6"], "SingleStack"), (["IPv4", "IPv6"], "PreferDualStack"),
            (["IPv6", "IPv4"], "RequireDualStack"),
        ]
        let family = families.randomElement(using: &random) ?? (nil, nil)
        return makeService(
            name, namespace: namespace, age: age, type: type, class: serviceClass, annotations: annotations,
            ports: portChoices.randomElement(using: &random) ?? [(80, "TCP")], families: family.0,
            policy: family.1)
    }
}
