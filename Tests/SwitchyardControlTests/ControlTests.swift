import DatapathModel
import Foundation
import SwitchyardConfig
import SwitchyardCore
import Testing

@testable import SwitchyardControl

@Suite struct HealthCheckStateMachineTests {
    @Test func fallsAfterFallFailuresAndRisesAfterRiseSuccesses() {
        var m = HealthCheckStateMachine(rise: 2, fall: 3)
        #expect(m.health == .up)
        #expect(m.probeFailed(reason: "refused") == nil)
        #expect(m.probeFailed(reason: "refused") == nil)
        #expect(
            m.probeFailed(reason: "timeout")
                == .changed(from: .up, to: .down, reason: "3 consecutive probes failed, last: timeout"))
        #expect(m.probeFailed(reason: "timeout") == nil, "already down: no new change")
        #expect(m.probeSucceeded() == nil)
        #expect(m.probeFailed(reason: "x") == nil, "a failure resets the rise count")
        #expect(m.probeSucceeded() == nil)
        #expect(m.probeSucceeded() == .changed(from: .down, to: .up, reason: "2 consecutive probes succeeded"))
        #expect(m.health == .up)
    }

    @Test func aSuccessResetsTheFallCount() {
        var m = HealthCheckStateMachine(rise: 1, fall: 2)
        _ = m.probeFailed(reason: "x")
        _ = m.probeSucceeded()
        #expect(m.probeFailed(reason: "x") == nil)
        #expect(m.health == .up)
    }
}

@Suite struct IDAllocationTests {
    static func config(_ backends: [String], extraService: Bool = false) -> SwitchyardConfig {
        let key = ServiceKey(vip: IPAddress("10.200.0.10")!, port: 80, proto: .tcp)
        var services = [
            Service(name: "web", key: key, backends: backends.map { Backend(address: IPAddress($0)!, port: 80) })
        ]
        if extraService {
            services.insert(
                Service(
                    name: "other", key: ServiceKey(vip: IPAddress("10.200.0.11")!, port: 80, proto: .tcp),
                    backends: [Backend(address: IPAddress("10.1.0.99")!, port: 80)]), at: 0)
        }
        return SwitchyardConfig(
            node: NodeSettings(name: "t", ipv4Source: IPv4Address(10, 0, 0, 11), maglevTableSize: 1009),
            services: services)
    }

    @Test func idsSurviveReorderAddAndRemove() throws {
        var a = IDAllocation()
        try a.update(for: Self.config(["10.1.0.1", "10.1.0.2", "10.1.0.3"]))
        let key = ServiceKey(vip: IPAddress("10.200.0.10")!, port: 80, proto: .tcp)
        let b2 = a.backendIndex(
            BackendKey(service: key, backend: BackendIdentity(address: IPAddress("10.1.0.2")!, port: 80)))
        let b3 = a.backendIndex(
            BackendKey(service: key, backend: BackendIdentity(address: IPAddress("10.1.0.3")!, port: 80)))
        let web = a.serviceID(key)
        // Remove 10.1.0.1, add 10.1.0.4, reorder, and put another service first.
        try a.update(for: Self.config(["10.1.0.4", "10.1.0.3", "10.1.0.2"], extraService: true))
        #expect(a.serviceID(key) == web)
        #expect(
            a.backendIndex(
                BackendKey(service: key, backend: BackendIdentity(address: IPAddress("10.1.0.2")!, port: 80))) == b2)
        #expect(
            a.backendIndex(
                BackendKey(service: key, backend: BackendIdentity(address: IPAddress("10.1.0.3")!, port: 80))) == b3)
        let all = Array(a.backends.values)
        #expect(Set(all).count == all.count, "no index is shared")
        #expect(a.backends.count == 4)
        #expect(a.retired.count == 1, "the removed backend's index stays retired until its flows are purged")
        let retired = try #require(a.retired.first)
        #expect(!all.contains(retired), "the newcomer did not get the removed backend's index")
        a.purged([retired])
        #expect(a.retired.isEmpty)
    }

    @Test func savedAllocationKeepsTheOldFileFormat() throws {
        var a = IDAllocation()
        try a.update(for: Self.config(["10.1.0.1", "10.1.0.2"]))
        try a.update(for: Self.config(["10.1.0.2"]))
        let text = String(decoding: try JSONEncoder().encode(a), as: UTF8.self)
        #expect(text.contains("\"10.200.0.10:80\\/tcp|10.1.0.2:80\""), "\(text)")
        let back = try JSONDecoder().decode(IDAllocation.self, from: Data(text.utf8))
        #expect(back == a)
        // A file written before retired indices existed still loads.
        let old = #"{"services":{"10.200.0.10:80/tcp":3},"backends":{"10.200.0.10:80/tcp|10.1.0.7:80":9,"junk":1}}"#
        let loaded = try JSONDecoder().decode(IDAllocation.self, from: Data(old.utf8))
        let key = ServiceKey(vip: IPAddress("10.200.0.10")!, port: 80, proto: .tcp)
        #expect(loaded.serviceID(key) == 3)
        #expect(
            loaded.backendIndex(
                BackendKey(service: key, backend: BackendIdentity(address: IPAddress("10.1.0.7")!, port: 80))) == 9)
        #expect(loaded.backends.count == 1, "an entry that does not parse names nothing")
    }

    @Test func desiredTablesFoldHealthIntoRings() throws {
        var a = IDAllocation()
        let config = Self.config(["10.1.0.1", "10.1.0.2"])
        try a.update(for: config)
        let key = config.services[0].key
        let down = BackendKey(service: key, backend: BackendIdentity(address: IPAddress("10.1.0.2")!, port: 80))
        let tables = DesiredState.tables(config: config, allocation: a, health: [down: .down])
        let index = a.backendIndex(
            BackendKey(service: key, backend: BackendIdentity(address: IPAddress("10.1.0.2")!, port: 80)))
        #expect(tables.backends[try #require(index)]?.state == .down)
        #expect(
            !tables.rings[try #require(a.serviceID(key))]!.contains(try #require(index)),
            "a backend that failed its checks leaves the ring")
    }

    @Test func healthCheckConfigParses() throws {
        let yaml = """
            node: {name: lb1, ipv4Source: 10.0.0.11}
            services:
              - name: web
                vip: 10.200.0.10
                ports: [{port: 80}]
                healthCheck: {type: http, path: /healthz, expectStatus: 204, intervalSeconds: 0.2, timeoutSeconds: 0.1, rise: 1, fall: 2}
                backends: [{address: 10.1.0.1}]
            """
        let config = try ConfigLoader.parse(yaml: yaml, file: "t").get()
        #expect(
            config.services[0].healthCheck
                == HealthCheck(
                    kind: .http, path: "/healthz", expectStatus: 204, intervalSeconds: 0.2, timeoutSeconds: 0.1,
                    rise: 1, fall: 2))
        let bad = yaml.replacingOccurrences(of: "timeoutSeconds: 0.1", with: "timeoutSeconds: 0.5")
        guard case .failure(let e) = ConfigLoader.parse(yaml: bad, file: "t") else {
            Issue.record("accepted")
            return
        }
        #expect(e.errors.map(\.field) == ["services[0].healthCheck.timeoutSeconds"])
    }
}
