import Foundation
import Testing

@testable import SwitchyardController
@testable import SwitchyardKubernetes

@Suite struct StatusPatchTests {
    /// A release must clear the ingress and our condition: absent keys in a merge patch would leave
    /// the old values, so the patch says null.
    @Test func aReleaseSendsExplicitNullsAndThePrecondition() throws {
        let patch = StatusPatch(resourceVersion: "41", status: ServiceStatusPatchBody(status: ServiceStatus()))
        let json = try #require(
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(patch)) as? [String: Any])
        #expect((json["metadata"] as? [String: Any])?["resourceVersion"] as? String == "41")
        let status = try #require(json["status"] as? [String: Any])
        #expect(status["conditions"] is NSNull)
        #expect((status["loadBalancer"] as? [String: Any])?["ingress"] is NSNull)
    }

    @Test func anAssignmentSendsTheIngressAndTheConditions() throws {
        let condition = Condition(
            type: SwitchyardNames.conditionType, status: "True", lastTransitionTime: "2026-11-30T00:00:00Z",
            reason: "Assigned", message: "10.0.0.1 from pool a")
        let status = ServiceStatus(
            loadBalancer: LoadBalancerStatus(ingress: [LoadBalancerIngress(ip: "10.0.0.1", ipMode: "VIP")]),
            conditions: [condition])
        let data = try JSONEncoder().encode(
            StatusPatch(resourceVersion: "7", status: ServiceStatusPatchBody(status: status)))
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""ip":"10.0.0.1""#) && text.contains(#""ipMode":"VIP""#))
        #expect(text.contains(#""reason":"Assigned""#))
    }
}
