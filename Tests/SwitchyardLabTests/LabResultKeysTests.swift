import Foundation
import Testing

@testable import SwitchyardLab

/// The JSON the lab prints is read by scripts and listed in the README: Swift names may change,
/// the keys may not. Each result is encoded with every field set and its key set compared.
struct LabResultKeysTests {
    /// The keys of the JSON object `value` encodes to (nested objects under `path`).
    static func keys<T: Encodable>(_ value: T, at path: [String] = []) throws -> Set<String> {
        var object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) as? [String: Any])
        for key in path { object = try #require(object[key] as? [String: Any], "no object at \(key)") }
        return Set(object.keys)
    }

    static let scenario: ScenarioResult = {
        var r = ScenarioResult(scenario: "flood", mode: "stateful", store: "redis")
        r.established = 100
        r.survived = 99
        r.failed = 1
        r.expectedFailed = 1
        r.durationSeconds = 12.5
        r.perBackend = ["be1": 50, "be2": 50]
        r.failedPerBackend = ["be1": 1]
        r.newConnections = ["be2": 40]
        r.detectSeconds = 1.1
        r.flood = FloodReport(sent: 10, insertRateLimited: 1, flowSetBusy: 2, insertFailed: 3, storeEvicted: 4)
        r.routing = "bgp/bird"
        r.withdrawSeconds = 0.05
        r.drained = 3
        r.terminatingSurvived = 3
        r.addressReleased = true
        var event = StoreEventReport(event: "primary 10.77.2.1:7001 killed (-9)", seconds: 2.1, keysBefore: 100)
        event.settleSeconds = 1.5
        event.keysAfter = 100
        event.keysHit = 40
        event.rejoinSeconds = 3
        event.keysBack = 40
        event.outageNewConnections = ["be1": 40]
        event.rebuiltEntries = 100
        r.storeEvent = event
        r.flowSync = ["lb1": ["retried": 3, "storeFailures": 1]]
        r.failures = ["conn 3 (be1): closed by peer"]
        return r
    }()

    @Test func scenarioKeys() throws {
        #expect(
            try Self.keys(Self.scenario) == [
                "scenario", "mode", "established", "survived", "failed", "expected_failed", "duration_s", "store",
                "per_backend", "failed_per_backend", "new_connections", "detect_s", "flood", "failures", "routing",
                "withdraw_s", "drained", "terminating_survived", "address_released", "store_event", "flow_sync",
            ])
        #expect(
            try Self.keys(Self.scenario, at: ["store_event"]) == [
                "event", "seconds", "settle_s", "keys_before", "keys_after", "keys_hit", "rejoin_s", "keys_back",
                "outage_new_connections", "rebuilt_entries",
            ])
        #expect(
            try Self.keys(Self.scenario, at: ["flood"]) == [
                "sent", "insert_rate_limited", "flow_set_busy", "insert_failed", "store_evicted",
            ])
        // Optional parts are left out, as before: a stateless lb-remove with static routes has no
        // store, flood, detect_s, routing or withdraw_s.
        let plain = ScenarioResult(scenario: "lb-remove", mode: "stateless")
        #expect(
            try Self.keys(plain) == [
                "scenario", "mode", "established", "survived", "failed", "expected_failed", "duration_s",
                "per_backend", "failed_per_backend", "failures",
            ])
        let decoded = try JSONDecoder().decode(ScenarioResult.self, from: JSONEncoder().encode(Self.scenario))
        #expect(decoded == Self.scenario)
    }

    @Test func benchKeys() throws {
        let report = LabBenchReport(paths: [
            LabBenchResult(path: Lab.benchPathXDP, throughputGbps: 9, connectionsPerSecond: 30_000),
            LabBenchResult(path: Lab.benchPathBaseline, throughputGbps: 10, connectionsPerSecond: 40_000),
        ])
        #expect(try Self.keys(report) == ["paths", "throughput_ratio", "connections_ratio"])
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any]
        let first = try #require((json?["paths"] as? [[String: Any]])?.first)
        #expect(Set(first.keys) == ["path", "throughput_gbps", "connections_per_s"])
        #expect(report.throughputRatio == 0.9 && report.connectionsRatio == 0.75)
        // No baseline measured: no ratio rather than a division by zero.
        #expect(LabBenchReport(paths: [report.paths[0]]).throughputRatio == 0)
    }

    @Test func syncBenchKeys() throws {
        let result = SyncBenchResult(
            store: "redis", rate: 1000, flows: 3000, reached: 3000, p50Milliseconds: 1.2,
            p99Milliseconds: 3.4, maxMilliseconds: 5.6, storeBytesPerFlow: 180, tls: true, sentPerSecond: 999,
            agentCPUMillisecondsPer1000Flows: ["lb1": 12.5, "lb2": 30])
        #expect(
            try Self.keys(result) == [
                "store", "rate", "flows", "reached", "p50_ms", "p99_ms", "max_ms", "store_bytes_per_flow", "tls",
                "sent_per_s", "agent_cpu_ms_per_1000_flows",
            ])
    }

    /// What the hidden helpers print, which the controller decodes.
    @Test func helperOutputKeys() throws {
        #expect(try Self.keys(HTTPReport(perBackend: ["be1": 1], bytes: 20)) == ["per_backend", "bytes"])
        #expect(try Self.keys(FloodSent(sent: 5)) == ["sent"])
        #expect(try Self.keys(ConnectionRateReport(perSecond: 5)) == ["per_second"])
    }

    @Test func labClientEventsRoundTripWithTheirKeys() throws {
        let report = TrafficClient.Report(
            established: 2, survived: 1, failed: 1, perBackend: ["be1": 2],
            failedPerBackend: ["be1": 1], failures: ["conn 1 (be1): closed by peer"])
        let events: [LabClientEvent] = [
            .established(perBackend: ["be1": 2]), .probe(perBackend: ["be2": 40]), .alive(perBackend: ["be1": 1]),
            .result(report),
        ]
        for event in events {
            #expect(try JSONDecoder().decode(LabClientEvent.self, from: JSONEncoder().encode(event)) == event)
        }
        #expect(try Self.keys(events[0]) == ["event", "per_backend"])
        #expect(try Self.keys(events[2]) == ["event", "per_backend"])
        #expect(
            try Self.keys(events[3]) == [
                "event", "established", "survived", "failed", "perBackend", "failedPerBackend", "failures",
            ])
        let unknown = #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(LabClientEvent.self, from: Data(#"{"event": "hello"}"#.utf8))
        }
        #expect("\(unknown.map { "\($0)" } ?? "")".contains("unknown lab-client event 'hello'"))
    }
}
