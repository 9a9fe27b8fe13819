import Foundation
import SwitchyardControl
import SwitchyardCore
import Testing

@testable import SwitchyardAgent
@testable import SwitchyardLab

/// Health probes against a real server on loopback (no privileges needed).
@Suite struct HealthProbeTests {
    static let port = Int.random(in: 20000...40000)
    static let server: Task<Void, Error> = Task { try await TrafficServer(name: "t", port: port).run() }

    func target(_ kind: HealthCheck.Kind, port: Int = HealthProbeTests.port, path: String = "/", status: Int = 200)
        -> ProbeTarget
    {
        ProbeTarget(
            key: BackendKey(
                service: ServiceKey(vip: IPAddress("10.200.0.1")!, port: 80, proto: .tcp),
                backend: BackendIdentity(address: IPAddress("127.0.0.1")!, port: UInt16(port))),
            service: "s",
            check: HealthCheck(kind: kind, path: path, expectStatus: status, intervalSeconds: 1, timeoutSeconds: 0.5))
    }

    func waitForServer() async throws {
        _ = Self.server
        for _ in 0..<50 {
            if await HealthProbe.run(target(.tcp)) == nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test func tcpAndHTTPProbes() async throws {
        try await waitForServer()
        #expect(await HealthProbe.run(target(.tcp)) == nil)
        #expect(await HealthProbe.run(target(.http)) == nil)
        let wrongStatus = await HealthProbe.run(target(.http, status: 204))
        #expect(wrongStatus == "HTTP 200, expected 204")
        let refused = await HealthProbe.run(target(.tcp, port: 1))
        #expect(refused?.contains("refused") == true, "\(refused ?? "")")
    }
}
