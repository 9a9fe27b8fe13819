import Foundation
import Testing

@testable import SwitchyardKubernetes

@Suite struct APITypesTests {
    @Test func decodesAServiceAsAServerSendsIt() throws {
        let json = """
            {"apiVersion":"v1","kind":"Service",
             "metadata":{"name":"web","namespace":"shop","uid":"u1","resourceVersion":"7",
                         "annotations":{"switchyard.io/mode":"stateful"}},
             "spec":{"type":"LoadBalancer","loadBalancerClass":"switchyard.io/lb","clusterIP":"10.96.0.10",
                     "ports":[{"name":"http","protocol":"TCP","port":80,"targetPort":"http","nodePort":30080},
                              {"protocol":"UDP","port":53,"targetPort":5353}],
                     "ipFamilies":["IPv4","IPv6"],"ipFamilyPolicy":"PreferDualStack",
                     "sessionAffinity":"ClientIP","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":300}},
                     "externalTrafficPolicy":"Local","allocateLoadBalancerNodePorts":true},
             "status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.1","ipMode":"VIP",
                         "ports":[{"port":80,"protocol":"TCP"}]}]},
                       "conditions":[{"type":"x","status":"True","lastTransitionTime":"2026-11-30T14:00:00Z",
                                      "reason":"R","message":"m"}]}}
            """
        let service = try JSONDecoder().decode(Service.self, from: Data(json.utf8))
        #expect(service.kind == "Service" && service.spec.type == "LoadBalancer")
        #expect(service.spec.ports?.first?.targetPort == .string("http"))
        #expect(service.spec.ports?.last?.targetPort == .int(5353))
        #expect(service.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds == 300)
        #expect(service.status?.loadBalancer?.ingress?.first?.ports?.first?.port == 80)
        #expect(service.status?.conditions?.first?.reason == "R")
        let again = try JSONDecoder().decode(Service.self, from: JSONEncoder().encode(service))
        #expect(again == service)
    }

    @Test func decodesAnAddressPoolAndALease() throws {
        let pool = """
            {"apiVersion":"switchyard.io/v1alpha1","kind":"AddressPool","metadata":{"name":"public"},
             "spec":{"addresses":["192.0.2.0/28"],"autoAssign":false,"serviceAllocation":{"priority":10,
               "namespaceSelectors":[{"matchExpressions":[{"key":"env","operator":"In","values":["prod"]}]}]},
               "defaults":{"mode":"stateful","flowKey":"source-ip"}},
             "status":{"assignedIPv4":3,"availableIPv6":9223372036854775807}}
            """
        let decoded = try JSONDecoder().decode(AddressPool.self, from: Data(pool.utf8))
        #expect(decoded.spec.autoAssign == false && decoded.spec.serviceAllocation?.priority == 10)
        #expect(decoded.status?.availableIPv6 == Int64.max && decoded.spec.defaults?.flowKey == "source-ip")
        let lease = """
            {"metadata":{"name":"switchyard-controller","namespace":"switchyard-system","resourceVersion":"3"},
             "spec":{"holderIdentity":"a","leaseDurationSeconds":15,"renewTime":"2026-11-30T14:00:00.123456Z",
                     "leaseTransitions":2}}
            """
        let decodedLease = try JSONDecoder().decode(Lease.self, from: Data(lease.utf8))
        #expect(decodedLease.spec.holderIdentity == "a" && decodedLease.spec.leaseTransitions == 2)
        #expect(KubeTime(decodedLease.spec.renewTime ?? "")?.microseconds == 123_456)
        #expect(Lease.apiVersion == "coordination.k8s.io/v1" && AddressPool.apiVersion == "switchyard.io/v1alpha1")
    }

    @Test func labelSelectorsFollowTheServersRules() {
        let selector = LabelSelector(
            matchLabels: ["app": "web"],
            matchExpressions: [
                LabelSelectorRequirement(key: "env", operator: "In", values: ["prod", "stage"]),
                LabelSelectorRequirement(key: "tier", operator: "NotIn", values: ["db"]),
                LabelSelectorRequirement(key: "team", operator: "Exists"),
                LabelSelectorRequirement(key: "legacy", operator: "DoesNotExist"),
            ])
        #expect(selector.matches(["app": "web", "env": "prod", "team": "a"]))
        #expect(!selector.matches(["app": "web", "env": "dev", "team": "a"]))
        #expect(!selector.matches(["app": "web", "env": "prod", "team": "a", "tier": "db"]))
        #expect(!selector.matches(["app": "web", "env": "prod"]))
        #expect(!selector.matches(["app": "web", "env": "prod", "team": "a", "legacy": "1"]))
        #expect(LabelSelector().matches([:]))
        let invalid = LabelSelector(matchExpressions: [LabelSelectorRequirement(key: "a", operator: "In")])
        #expect(!invalid.validationErrors.isEmpty && !invalid.matches(["a": "x"]))
        let unknown = LabelSelector(matchExpressions: [LabelSelectorRequirement(key: "a", operator: "Gt")])
        #expect(unknown.validationErrors.first?.contains("unknown operator") == true)
    }

    @Test func kubeTimeParsesAndFormatsBothPrecisions() throws {
        let time = try #require(KubeTime("2026-11-30T14:00:00Z"))
        #expect(time.seconds == 1_796_047_200)
        #expect(time.rfc3339 == "2026-11-30T14:00:00Z")
        let micro = try #require(KubeTime("2026-11-30T14:00:00.000042Z"))
        #expect(micro.microseconds == 42 && micro.rfc3339Micro == "2026-11-30T14:00:00.000042Z")
        #expect(KubeTime("2026-11-30T15:00:00+01:00") == time)
        #expect(KubeTime("2026-11-30T14:00:00.5Z")?.microseconds == 500_000)
        #expect(KubeTime("1969-12-31T23:59:59Z")?.rfc3339 == "1969-12-31T23:59:59Z")
        #expect(KubeTime("2024-02-29T00:00:00Z") != nil && KubeTime("2026-02-29T00:00:00Z") == nil)
        for bad in ["", "2026-11-30", "2026-11-30T14:00:00", "2026-13-01T00:00:00Z", "2026-11-30T14:00:00.Z"] {
            #expect(KubeTime(bad) == nil, "\(bad)")
        }
        #expect(KubeTime(time.date) == time)
        #expect(time.adding(.milliseconds(1500)).rfc3339Micro == "2026-11-30T14:00:01.500000Z")
    }
}
