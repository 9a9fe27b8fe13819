import Testing

import enum SwitchyardCore.IPAddress
import struct SwitchyardCore.IPv4Address
import struct SwitchyardCore.IPv6Address

@testable import SwitchyardKubernetes

/// The allocator's rules (issue 13 item 3), one test each.
@Suite struct AllocatorRulesTests {
    let pool = makePool("public", ["192.0.2.0/29", "2001:db8::/120"])

    @Test func nothingIsEmittedBeforeAllThreeKindsAreListed() {
        var allocator = AddressAllocator()
        let now = KubeTime(seconds: 0)
        #expect(allocator.handle(.poolsListed([pool]), at: now).isEmpty)
        #expect(allocator.handle(.servicesListed([makeService("web")]), at: now).isEmpty)
        #expect(allocator.handle(.serviceUpserted(makeService("api")), at: now).isEmpty)
        #expect(!allocator.isSynced)
        let actions = allocator.handle(.namespacesListed([]), at: now)
        #expect(allocator.isSynced)
        #expect(actions.contains { if case .writeServiceStatus = $0 { true } else { false } })
    }

    @Test func pendingServicesGetTheLowestFreeAddressOldestFirst() {
        var cluster = AllocatorHarness()
        cluster.start(pools: [pool], services: [makeService("young", age: 20), makeService("old", age: 10)])
        #expect(cluster.ingress(key("old")) == ["192.0.2.0"])
        #expect(cluster.ingress(key("young")) == ["192.0.2.1"])
        #expect(cluster.reason(key("old")) == "Assigned" && cluster.condition(key("old"))?.status == "True")
        #expect(cluster.services[key("old")]?.status?.loadBalancer?.ingress?.first?.ipMode == "Proxy")
    }

    @Test func servicesOfOtherClassesOrTypesAreNeverTouched() {
        var cluster = AllocatorHarness()
        cluster.start(
            pools: [pool],
            services: [
                makeService("other", class: "example.com/lb"), makeService("noclass", class: nil),
                makeService("plain", type: "ClusterIP"),
            ])
        #expect(cluster.actions.allSatisfy { if case .writeServiceStatus = $0 { false } else { true } })
        #expect(cluster.events.isEmpty)
        var optIn = AllocatorHarness(configuration: AllocatorConfiguration(servesServicesWithoutClass: true))
        optIn.start(pools: [pool], services: [makeService("noclass", class: nil), makeService("other", class: "x/y")])
        #expect(optIn.ingress(key("noclass")) == ["192.0.2.0"] && optIn.ingress(key("other")).isEmpty)
    }

    @Test func existingAddressesAreImportedBeforeAnyAllocation() {
        var cluster = AllocatorHarness()
        // The younger Service already holds .0: the older pending one must not get it.
        cluster.start(
            pools: [pool], services: [makeService("old", age: 1), makeService("young", age: 2, ingress: ["192.0.2.0"])])
        #expect(cluster.ingress(key("young")) == ["192.0.2.0"])
        #expect(cluster.ingress(key("old")) == ["192.0.2.1"])
        #expect(cluster.reason(key("young")) == "Assigned")
    }

    @Test func anImportedAddressOutsideEveryPoolIsKeptAndReserved() {
        var cluster = AllocatorHarness()
        cluster.start(
            pools: [makePool("p", ["198.51.100.7/32", "203.0.113.9/32"])],
            services: [makeService("legacy", age: 1, ingress: ["203.0.113.9"])])
        cluster.deletePool("p")
        cluster.apply(makePool("p", ["198.51.100.7/32"]))
        #expect(cluster.ingress(key("legacy")) == ["203.0.113.9"])
        #expect(
            cluster.reason(key("legacy")) == "AddressOutsidePool" && cluster.condition(key("legacy"))?.status == "True")
        var restart = AllocatorHarness()
        restart.start(
            pools: [makePool("p", ["203.0.113.0/30"])],
            services: [makeService("new", age: 2), makeService("legacy", age: 1, ingress: ["203.0.113.0"])])
        #expect(restart.ingress(key("new")) == ["203.0.113.1"])
    }

    @Test func theYoungerOfTwoServicesWithTheSameAddressIsTheDuplicate() {
        var cluster = AllocatorHarness()
        cluster.start(
            pools: [pool],
            services: [
                makeService("b-young", age: 2, ingress: ["192.0.2.5"]),
                makeService("a-old", age: 1, ingress: ["192.0.2.5"]),
            ])
        #expect(cluster.ingress(key("a-old")) == ["192.0.2.5"])
        #expect(cluster.ingress(key("b-young")) == ["192.0.2.0"])
        let duplicate = cluster.eventsAbout(key("b-young")).first { $0.reason == "DuplicateAddress" }
        #expect(duplicate?.type == .warning && duplicate?.message.contains("shop/a-old") == true)
    }

    @Test func requestedAddressesAreHonouredOnlyWhenFreeAndInsideAnAllowingPool() {
        var cluster = AllocatorHarness()
        let manual = makePool("manual", ["198.51.100.0/30"], autoAssign: false)
        cluster.start(
            pools: [pool, manual],
            services: [
                makeService("a", age: 1, loadBalancerIP: "192.0.2.3"),
                makeService("b", age: 2, annotations: [SwitchyardNames.loadBalancerIPs: "192.0.2.3"]),
                makeService("c", age: 3, annotations: [SwitchyardNames.loadBalancerIPs: "203.0.113.1"]),
                makeService("d", age: 4, annotations: [SwitchyardNames.loadBalancerIPs: "banana"]),
                makeService("e", age: 5, annotations: [SwitchyardNames.loadBalancerIPs: "192.0.2.4, 192.0.2.5"]),
                makeService("f", age: 6, annotations: [SwitchyardNames.loadBalancerIPs: "198.51.100.2"]),
            ])
        #expect(cluster.ingress(key("a")) == ["192.0.2.3"])
        #expect(cluster.ingress(key("b")).isEmpty && cluster.reason(key("b")) == "RequestedIPUnavailable")
        #expect(cluster.condition(key("b"))?.message.contains("in use") == true)
        #expect(cluster.reason(key("c")) == "RequestedIPUnavailable")
        #expect(cluster.condition(key("c"))?.message.contains("not inside any pool") == true)
        #expect(cluster.reason(key("d")) == "InvalidAnnotation" && cluster.ingress(key("d")).isEmpty)
        #expect(cluster.reason(key("e")) == "InvalidAnnotation")
        // autoAssign: false does not stop an explicit request.
        #expect(cluster.ingress(key("f")) == ["198.51.100.2"])
    }

    @Test func poolsAreTriedByPriorityThenNameAndMustServeTheService() {
        var cluster = AllocatorHarness()
        let pools = [
            makePool("b-second", ["10.0.2.0/30"], priority: 20),
            makePool("a-last", ["10.0.9.0/30"]),
            makePool("c-first", ["10.0.1.0/30"], priority: 10, namespaces: ["shop"]),
            makePool(
                "prod-only", ["10.0.3.0/30"], priority: 1,
                namespaceSelectors: [LabelSelector(matchLabels: ["env": "prod"])]),
            makePool(
                "web-only", ["10.0.4.0/30"], priority: 2,
                serviceSelectors: [LabelSelector(matchLabels: ["app": "web"])]),
            makePool("manual", ["10.0.5.0/30"], autoAssign: false, priority: 0),
        ]
        cluster.start(
            pools: pools, namespaces: [makeNamespace("shop"), makeNamespace("bank", labels: ["env": "prod"])],
            services: [
                makeService("s", age: 1), makeService("t", namespace: "tools", age: 2),
                makeService("b", namespace: "bank", age: 3), makeService("w", age: 4, labels: ["app": "web"]),
                makeService("m", age: 5, annotations: [SwitchyardNames.addressPool: "manual"]),
                makeService("x", age: 6, annotations: [SwitchyardNames.addressPool: "missing"]),
            ])
        #expect(cluster.ingress(key("s")) == ["10.0.1.0"])
        #expect(cluster.ingress(key("t", "tools")) == ["10.0.2.0"])
        #expect(cluster.ingress(key("b", "bank")) == ["10.0.3.0"])
        #expect(cluster.ingress(key("w")) == ["10.0.4.0"])
        #expect(cluster.ingress(key("m")) == ["10.0.5.0"])
        #expect(cluster.reason(key("x")) == "NoMatchingPool")
        #expect(cluster.condition(key("x"))?.message.contains("missing does not exist") == true)
    }

    @Test func noMatchingPoolAndPoolExhaustedAreTold() {
        var cluster = AllocatorHarness()
        cluster.start(
            pools: [makePool("tiny", ["10.0.0.1/32"]), makePool("off", ["10.1.0.0/24"], disabled: true)],
            services: [
                makeService("a", age: 1), makeService("b", age: 2), makeService("c", age: 3, families: ["IPv6"]),
            ])
        #expect(cluster.ingress(key("a")) == ["10.0.0.1"])
        #expect(cluster.reason(key("b")) == "PoolExhausted" && cluster.condition(key("b"))?.status == "False")
        #expect(cluster.reason(key("c")) == "NoMatchingPool")
        // The exhausted Service gets the address the moment its holder goes.
        cluster.delete(key("a"))
        #expect(cluster.ingress(key("b")) == ["10.0.0.1"] && cluster.reason(key("b")) == "Assigned")
    }

    @Test func avoidBuggyIPsSkipsDotZeroAndDotTwoFiftyFive() {
        var cluster = AllocatorHarness()
        cluster.start(
            pools: [makePool("p", ["10.0.0.255-10.0.1.1"], avoidBuggyIPs: true)],
            services: [makeService("a", age: 1), makeService("b", age: 2)])
        #expect(cluster.ingress(key("a")) == ["10.0.1.1"] && cluster.reason(key("b")) == "PoolExhausted")
    }

    @Test func familiesFollowIPFamiliesAndThePolicy() {
        var cluster = AllocatorHarness()
        let v4Only = makePool("v4", ["10.0.0.0/30"])
        cluster.start(
            pools: [pool],
            services: [
                makeService("single6", age: 1, families: ["IPv6", "IPv4"], policy: "SingleStack"),
                makeService("prefer", age: 2, families: ["IPv6", "IPv4"], policy: "PreferDualStack"),
                makeService("require", age: 3, policy: "RequireDualStack"),
            ])
        #expect(cluster.ingress(key("single6")) == ["2001:db8::"])
        #expect(cluster.ingress(key("prefer")) == ["2001:db8::1", "192.0.2.0"])
        #expect(cluster.ingress(key("require")) == ["192.0.2.1", "2001:db8::2"])
        var narrow = AllocatorHarness()
        narrow.start(
            pools: [v4Only],
            services: [
                makeService("prefer", age: 1, families: ["IPv4", "IPv6"], policy: "PreferDualStack"),
                makeService("require", age: 2, policy: "RequireDualStack"),
            ])
        #expect(narrow.ingress(key("prefer")) == ["10.0.0.0"] && narrow.reason(key("prefer")) == "Assigned")
        #expect(narrow.ingress(key("require")).isEmpty && narrow.reason(key("require")) == "NoMatchingPool")
        // Both or nothing: the IPv4 address it could have had is still free.
        narrow.create(makeService("next", age: 3))
        #expect(narrow.ingress(key("next")) == ["10.0.0.1"])
    }

    @Test func aLiveAddressNeverMovesWhenItsPoolShrinksIsDisabledOrGoes() {
        var cluster = AllocatorHarness()
        cluster.start(
            pools: [makePool("p", ["10.0.0.0/29"])], services: [makeService("a", age: 1), makeService("b", age: 2)])
        #expect(cluster.ingress(key("b")) == ["10.0.0.1"])
        cluster.apply(makePool("p", ["10.0.0.0/32"]))
        #expect(cluster.ingress(key("b")) == ["10.0.0.1"] && cluster.reason(key("b")) == "AddressOutsidePool")
        #expect(cluster.reason(key("a")) == "Assigned")
        cluster.apply(makePool("p", ["10.0.0.0/29"], disabled: true))
        #expect(cluster.ingress(key("b")) == ["10.0.0.1"] && cluster.reason(key("b")) == "Assigned")
        cluster.create(makeService("c", age: 3))
        #expect(cluster.reason(key("c")) == "NoMatchingPool")
        cluster.deletePool("p")
        #expect(cluster.ingress(key("a")) == ["10.0.0.0"] && cluster.reason(key("a")) == "AddressOutsidePool")
    }

    @Test func aChangedRequestIsHonouredOnlyWhenTheNewAddressCanBeHad() {
        var cluster = AllocatorHarness()
        cluster.start(pools: [pool], services: [makeService("a", age: 1), makeService("b", age: 2)])
        cluster.update(key("b")) { $0.metadata.annotations = [SwitchyardNames.loadBalancerIPs: "192.0.2.0"] }
        #expect(cluster.ingress(key("b")) == ["192.0.2.1"] && cluster.reason(key("b")) == "RequestedIPUnavailable")
        #expect(cluster.condition(key("b"))?.status == "True")
        cluster.update(key("b")) { $0.metadata.annotations = [SwitchyardNames.loadBalancerIPs: "192.0.2.6"] }
        #expect(cluster.ingress(key("b")) == ["192.0.2.6"] && cluster.reason(key("b")) == "Assigned")
        // The old address is free again.
        cluster.create(makeService("c", age: 3))
        #expect(cluster.ingress(key("c")) == ["192.0.2.1"])
    }

    @Test func invalidAnnotationsKeepAnExistingAddress() {
        var cluster = AllocatorHarness()
        cluster.start(pools: [pool], services: [makeService("a", age: 1)])
        cluster.update(key("a")) { $0.metadata.annotations = [SwitchyardNames.mode: "fast"] }
        #expect(cluster.ingress(key("a")) == ["192.0.2.0"] && cluster.reason(key("a")) == "InvalidAnnotation")
        #expect(cluster.condition(key("a"))?.message.contains("\"fast\"") == true)
        cluster.update(key("a")) { $0.metadata.annotations = [SwitchyardNames.flowKey: "tuple"] }
        #expect(cluster.reason(key("a")) == "InvalidAnnotation")
        cluster.update(key("a")) { $0.metadata.annotations = [SwitchyardNames.addressPool: "Bad_Name"] }
        #expect(cluster.reason(key("a")) == "InvalidAnnotation")
        cluster.update(key("a")) { $0.metadata.annotations = nil }
        #expect(cluster.reason(key("a")) == "Assigned" && cluster.ingress(key("a")) == ["192.0.2.0"])
    }

    @Test func settingsResolveFromAnnotationsAffinityAndPoolDefaults() {
        var cluster = AllocatorHarness()
        let stateful = makePool(
            "sf", ["10.9.0.0/30"], priority: 1, defaults: .init(mode: "stateful", flowKey: "source-ip"))
        cluster.start(
            pools: [stateful],
            services: [
                makeService("plain", age: 1),
                makeService(
                    "annotated", age: 2,
                    annotations: [SwitchyardNames.mode: "stateless", SwitchyardNames.flowKey: "connection"]),
                makeService("sticky", age: 3, sessionAffinity: "ClientIP"),
            ])
        let plain = cluster.allocator.settings(for: key("plain"))
        #expect(plain?.mode == .stateful && plain?.flowKey == .sourceIP && plain?.pool == "sf")
        let annotated = cluster.allocator.settings(for: key("annotated"))
        #expect(annotated?.mode == .stateless && annotated?.flowKey == .connection)
        var bare = AllocatorHarness()
        bare.start(
            pools: [pool],
            services: [makeService("sticky", age: 1, sessionAffinity: "ClientIP"), makeService("x", age: 2)])
        #expect(bare.allocator.settings(for: key("sticky"))?.flowKey == .sourceIP)
        #expect(bare.allocator.settings(for: key("x"))?.flowKey == .connection)
        #expect(bare.allocator.settings(for: key("x"))?.mode == .stateless)
    }

    @Test func releaseOnDeletionTypeChangeAndClassChange() {
        var cluster = AllocatorHarness()
        cluster.start(
            pools: [makePool("p", ["10.0.0.0/31"])],
            services: [makeService("a", age: 1), makeService("b", age: 2), makeService("c", age: 3)])
        #expect(cluster.reason(key("c")) == "PoolExhausted")
        cluster.update(key("a")) { $0.spec.type = "ClusterIP" }
        #expect(cluster.ingress(key("a")).isEmpty && cluster.condition(key("a")) == nil)
        #expect(cluster.eventsAbout(key("a")).last?.reason == "AddressReleased")
        #expect(cluster.ingress(key("c")) == ["10.0.0.0"])
        cluster.update(key("b")) { $0.spec.loadBalancerClass = "example.com/other" }
        #expect(cluster.ingress(key("b")).isEmpty && cluster.condition(key("b")) == nil)
        cluster.delete(key("c"))
        cluster.create(makeService("d", age: 4))
        #expect(cluster.ingress(key("d")) == ["10.0.0.0"])
    }

    @Test func aReleasedAddressStaysReservedWhileItsClearingWriteIsInFlight() {
        var cluster = AllocatorHarness()
        cluster.start(pools: [makePool("p", ["10.0.0.0/32"])], services: [makeService("a", age: 1)])
        cluster.autoSettle = false
        cluster.update(key("a")) { $0.spec.type = "NodePort" }
        #expect(cluster.serviceWrites.count == 1)
        cluster.create(makeService("b", age: 2))
        #expect(cluster.serviceWrites.last?.status.loadBalancer?.ingress?.isEmpty == true)
        #expect(cluster.allocator.assignments[key("b")] == nil)
        cluster.settle()
        #expect(cluster.ingress(key("a")).isEmpty)
        #expect(cluster.ingress(key("b")) == ["10.0.0.0"])
    }
}
