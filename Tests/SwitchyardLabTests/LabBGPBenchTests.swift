import Foundation
import SwitchyardCore
import Testing

@testable import SwitchyardLab

/// bench-bgp's pieces without root: the netlink route parser, the figures, the router logs.
struct BGPBenchPartsTests {
    /// An RTM_NEWROUTE for 10.77.100.10/32 and an RTM_DELROUTE for fd77:100::10/128 in one
    /// datagram, as the kernel batches them; a default route (no RTA_DST) is skipped.
    @Test func routeNotificationsNameTheirDestination() throws {
        func message(type: UInt16, family: UInt8, prefixLength: UInt8, destination: [UInt8]?) -> [UInt8] {
            var attributes: [UInt8] = [8, 0, 15, 0, 254, 0, 0, 0] // RTA_TABLE main first
            if let destination {
                attributes += [UInt8(4 + destination.count), 0, 1, 0] + destination
            }
            let body = [family, prefixLength, 0, 0, 254, 12, 0, 1, 0, 0, 0, 0] + attributes
            let length = UInt32(16 + body.count)
            let header: [UInt8] =
                [UInt8(length & 0xff), UInt8(length >> 8), 0, 0, UInt8(type), 0, 0, 0] + [UInt8](repeating: 0, count: 8)
            return header + body
        }
        let v4 = try #require(IPAddress("10.77.100.10"))
        let v6 = try #require(IPAddress("fd77:100::10"))
        let datagram =
            message(type: 24, family: 2, prefixLength: 32, destination: v4.bytes)
            + message(type: 24, family: 2, prefixLength: 0, destination: nil)
            + message(type: 25, family: 10, prefixLength: 128, destination: v6.bytes)
        #expect(
            RouteNotification.parse(datagram) == [
                RouteNotification(kind: .added, destination: v4, prefixLength: 32),
                RouteNotification(kind: .deleted, destination: v6, prefixLength: 128),
            ])
        #expect(RouteNotification.parse(Array(datagram.prefix(20))).isEmpty, "a cut-short message is skipped")
    }

    @Test func figuresAreTheNearestRankMedianAndTheWorst() {
        let figure = BGPBenchFigure(samples: [0.9, 0.7001, 1.2, 0.8])
        #expect(figure.p50Seconds == 0.8)
        #expect(figure.maxSeconds == 1.2)
        #expect(figure.samples == [0.9, 0.7, 1.2, 0.8])
    }

    @Test func routerLogsSayWhenBFDWentDown() throws {
        let bird = """
            2025-01-02 03:04:05.100 <TRACE> lb3v4: BFD session down
            2025-01-02 03:04:06.250 <TRACE> lb3v6: BFD session down
            2025-01-02 03:04:07.000 <TRACE> lb3v6: BFD session down
            """
        let since = try #require(RouterLog.stamp("2025-01-02 03:04:05.500", router: .bird))
        let down = RouterLog.bfdDown(router: .bird, log: bird, protocolName: "lb3v6", peer: "", since: since)
        #expect(down.map { $0.timeIntervalSince(since) }.map { ($0 * 1000).rounded() } == 750)
        let frr = """
            2025/01/02 03:04:05.900 BFD: [SEY1D-NT8EQ] state-change: [mhop:no peer:10.77.2.13 local:10.77.2.1 \
            vrf:default ifname:br0] up -> down reason:control-expired
            """
        let frrDown = RouterLog.bfdDown(router: .frr, log: frr, protocolName: "", peer: "10.77.2.13", since: since)
        #expect(frrDown.map { $0.timeIntervalSince(since) }.map { ($0 * 1000).rounded() } == 400)
        #expect(RouterLog.bfdDown(router: .frr, log: frr, protocolName: "", peer: "10.77.2.1", since: since) == nil)
    }
}

/// `lab bench-bgp` end to end, as an operator runs it: one lab, two rounds, JSON out.
@Suite(.enabled(if: LabBGPProbe.available, LabBGPProbe.skipMessage), .serialized)
struct LabBGPBenchTests {
    @Test func benchBGPReportsEveryFigure() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: LabProbe.executable)
        process.arguments = ["lab", "bench-bgp", "--runs", "2", "--json"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["router"] as? String == "bird")
        #expect(json["runs"] as? Int == 2)
        // Agent start: health checks rise (2 × 0.5 s) before the first announcement; the rest
        // is BGP. Drain: GRACEFUL_SHUTDOWN, well inside the drain period. Link cut: BFD 300 ms × 3.
        let bounds = ["agent_start_ipv4": 10.0, "agent_start_ipv6": 10.0, "drain": 2.0, "link_cut": 3.0]
        for (key, bound) in bounds {
            let figure = try #require(json[key] as? [String: Any], "\(key) in \(json.keys.sorted())")
            let samples = try #require(figure["samples_s"] as? [Double])
            #expect(samples.count == 2, "\(key)")
            for name in ["p50_s", "max_s"] {
                let value = try #require(figure[name] as? Double, "\(key).\(name)")
                #expect(value > 0 && value < bound, "\(key).\(name) = \(value)")
            }
        }
        let stages = try #require(json["breakdown"] as? [[String: Any]])
        #expect(Set(stages.compactMap { $0["event"] as? String }) == ["agent_start", "drain", "link_cut"])
    }
}
