import Foundation
import SwitchyardCore

/// A router namespace and two speaker namespaces, each speaker joined to the router by its own
/// veth pair with an IPv4 /24 and an IPv6 /64. Every name carries a random `sysp<hex>` prefix;
/// `tearDown` removes everything, and nothing touches the host namespace.
final class InteropLab {
    /// The router's AS, BIRD or FRR; the speakers are 65101 and 65102 (eBGP, different ASes).
    static let routerASN: UInt32 = 65000
    struct Endpoint {
        var namespace: String
        var address4: IPAddress
        var address6: IPAddress
        var routerAddress4: IPAddress
        var routerAddress6: IPAddress
        var routerInterface: String
        var asn: UInt32
        var namespacePath: String { "/var/run/netns/\(namespace)" }
    }

    let prefix: String
    let router: String
    let speakers: [Endpoint]
    let workDirectory: URL
    private var created: [String] = []

    init() throws {
        let prefix = "sysp" + String(format: "%04x", Int.random(in: 0..<65536))
        self.prefix = prefix
        router = "\(prefix)-r"
        speakers = (1...2).map { index in
            Endpoint(
                namespace: "\(prefix)-s\(index)",
                address4: IPAddress("10.77.\(index).2")!, address6: IPAddress("fd77:\(index)::2")!,
                routerAddress4: IPAddress("10.77.\(index).1")!, routerAddress6: IPAddress("fd77:\(index)::1")!,
                routerInterface: "\(prefix)r\(index)", asn: 65100 + UInt32(index))
        }
        workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(prefix)
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        do {
            try build()
        } catch {
            tearDown()
            throw error
        }
    }

    private func build() throws {
        func run(_ command: [String]) throws { try InteropEnvironment.run(command) }
        for namespace in [router] + speakers.map(\.namespace) {
            try run(["ip", "netns", "add", namespace])
            created.append(namespace)
            try run(["ip", "-n", namespace, "link", "set", "lo", "up"])
        }
        for (index, speaker) in speakers.enumerated() {
            let local = "\(prefix)s\(index + 1)"
            try run([
                "ip", "link", "add", local, "netns", speaker.namespace, "type", "veth", "peer", "name",
                speaker.routerInterface, "netns", router,
            ])
            try run(["ip", "-n", speaker.namespace, "addr", "add", "\(speaker.address4)/24", "dev", local])
            try run(["ip", "-n", speaker.namespace, "addr", "add", "\(speaker.address6)/64", "dev", local, "nodad"])
            try run(["ip", "-n", router, "addr", "add", "\(speaker.routerAddress4)/24", "dev", speaker.routerInterface])
            try run([
                "ip", "-n", router, "addr", "add", "\(speaker.routerAddress6)/64", "dev", speaker.routerInterface,
                "nodad",
            ])
            try run(["ip", "-n", speaker.namespace, "link", "set", local, "up"])
            try run(["ip", "-n", router, "link", "set", speaker.routerInterface, "up"])
        }
    }

    /// The next hops the router's kernel uses for `destination` (one for a plain route, several
    /// for ECMP), empty when there is no such route.
    func kernelNextHops(_ destination: String) throws -> Set<String> {
        let family = destination.contains(":") ? "-6" : "-4"
        let text = try InteropEnvironment.run(["ip", "-n", router, family, "-j", "route", "show", destination])
        guard let routes = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
            return []
        }
        var hops: Set<String> = []
        for route in routes {
            if let gateway = route["gateway"] as? String { hops.insert(gateway) }
            for hop in route["nexthops"] as? [[String: Any]] ?? [] {
                if let gateway = hop["gateway"] as? String { hops.insert(gateway) }
            }
        }
        return hops
    }

    /// Removes the namespaces (which takes their veths and sockets along) and the work directory.
    func tearDown() {
        for namespace in created.reversed() { _ = try? InteropEnvironment.run(["ip", "netns", "del", namespace]) }
        created = []
        try? FileManager.default.removeItem(at: workDirectory)
    }
}
