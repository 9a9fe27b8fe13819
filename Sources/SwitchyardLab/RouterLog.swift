import Foundation

/// Reads the moment the router's BFD declared an LB node down out of the routing daemon's log,
/// for bench-bgp's breakdown (link cut → BFD down at the router → route gone). Both daemons are
/// configured to stamp lines to the millisecond in local time: BIRD `timeformat log iso long ms`
/// (`2025-01-02 03:04:05.678 <INFO> lb3v4: BFD session down`), FRR `log timestamp precision 3`
/// (`2025/01/02 03:04:05.678 BFD: [XXXXX-XXXXX] state-change: [mhop:no peer:10.77.2.13 …] up ->
/// down reason:control-expired`).
enum RouterLog {
    /// The first line at or after `since` in which the router's BFD put the session to `peer`
    /// (BIRD: the BGP protocol `protocolName`) down.
    static func bfdDown(
        router: LabRouter, log text: String, protocolName: String, peer: String, since: Date
    ) -> Date? {
        for line in text.split(separator: "\n") {
            let matches =
                switch router {
                case .bird: line.contains(" \(protocolName): BFD session down")
                case .frr: line.contains("state-change:") && line.contains("peer:\(peer) ") && line.contains("-> down")
                }
            guard matches, let date = stamp(line, router: router), date >= since else { continue }
            return date
        }
        return nil
    }

    /// The timestamp at the start of a log line: 23 characters, local time.
    static func stamp(_ line: Substring, router: LabRouter) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .current
        formatter.dateFormat = router == .bird ? "yyyy-MM-dd HH:mm:ss.SSS" : "yyyy/MM/dd HH:mm:ss.SSS"
        return formatter.date(from: String(line.prefix(23)))
    }
}

extension Lab {
    /// Seconds from `since` until the router's log says its BFD session to lb`i` went down
    /// (the earlier of the two families), nil when the log does not say.
    func routerLoggedBFDDown(_ i: Int, since: Date) -> Double? {
        guard let router = options.routing.router, let node = bgpFabric.node(i) else { return nil }
        let file = router == .bird ? "bird.log" : "bfdd.log"
        let text = (try? String(contentsOfFile: "\(routerDirectory)/\(file)", encoding: .utf8)) ?? ""
        let downs = [("ipv4", node.address4), ("ipv6", node.address6)].compactMap { family, address in
            RouterLog.bfdDown(
                router: router, log: text, protocolName: LabBGPFabric.birdProtocol(node: i, family: family),
                peer: address, since: since)
        }
        return downs.min().map { $0.timeIntervalSince(since) }
    }
}
