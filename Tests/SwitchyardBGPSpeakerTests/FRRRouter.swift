import Foundation

/// FRR 8.4 as the router: zebra and bgpd in the lab's router namespace under their own pathspace
/// (`-N`), explicit passive neighbours, prefix-list route-maps that take only host routes from the
/// VIP ranges (RFC 8212), ECMP with `maximum-paths 16` and `multipath-relax` (the speakers have
/// different ASNs). FRR lowers GRACEFUL_SHUTDOWN paths by itself.
struct FRRRouter: InteropRouter {
    static let asn = InteropLab.routerASN
    let lab: InteropLab
    let pathspace: String
    let configDirectory: String
    let runDirectory: String
    private let daemons: [Process]

    init(lab: InteropLab, passwords: [String?]) throws {
        self.lab = lab
        pathspace = lab.prefix
        configDirectory = "/etc/frr/\(lab.prefix)"
        runDirectory = "/var/run/frr/\(lab.prefix)"
        var started: [Process] = []
        do {
            try FileManager.default.createDirectory(atPath: configDirectory, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
            try "hostname \(lab.prefix)-r\n".write(
                toFile: "\(configDirectory)/zebra.conf", atomically: true, encoding: .utf8)
            try Self.configuration(lab: lab, passwords: passwords).write(
                toFile: "\(configDirectory)/bgpd.conf", atomically: true, encoding: .utf8)
            try InteropEnvironment.run(["chown", "-R", "frr:frr", configDirectory, runDirectory])
            for daemon in ["zebra", "bgpd"] {
                started.append(
                    try InteropEnvironment.startDaemon(
                        [
                            "ip", "netns", "exec", lab.router, "/usr/lib/frr/\(daemon)", "-N", lab.prefix, "-f",
                            "\(configDirectory)/\(daemon).conf", "-i", "\(runDirectory)/\(daemon).pid",
                        ], log: lab.workDirectory.appendingPathComponent("\(daemon).out")))
                // bgpd talks to zebra through its socket: wait for it before starting bgpd.
                let socket = daemon == "zebra" ? "zserv.api" : "bgpd.vty"
                for _ in 0..<50 where !FileManager.default.fileExists(atPath: "\(runDirectory)/\(socket)") {
                    usleep(100_000)
                }
            }
        } catch {
            for daemon in started { InteropEnvironment.stopDaemon(daemon) }
            try? FileManager.default.removeItem(atPath: configDirectory)
            try? FileManager.default.removeItem(atPath: runDirectory)
            throw error
        }
        daemons = started
    }

    private static func configuration(lab: InteropLab, passwords: [String?]) -> String {
        var neighbours = ""
        var ipv4 = ""
        var ipv6 = ""
        for (index, speaker) in lab.speakers.enumerated() {
            let password = passwords.indices.contains(index) ? passwords[index] : nil
            for address in [speaker.address4, speaker.address6] {
                neighbours += " neighbor \(address) remote-as \(speaker.asn)\n"
                neighbours += " neighbor \(address) passive\n neighbor \(address) timers 3 9\n"
                if let password { neighbours += " neighbor \(address) password \(password)\n" }
            }
            ipv4 += "  neighbor \(speaker.address4) route-map VIP4 in\n"
            ipv4 += "  neighbor \(speaker.address4) route-map NOTHING out\n"
            ipv4 += "  no neighbor \(speaker.address6) activate\n"
            ipv6 += "  neighbor \(speaker.address6) activate\n"
            ipv6 += "  neighbor \(speaker.address6) route-map VIP6 in\n"
            ipv6 += "  neighbor \(speaker.address6) route-map NOTHING out\n"
        }
        return """
            frr defaults traditional
            hostname \(lab.prefix)-r
            ip prefix-list VIPS4 seq 5 permit 198.51.100.0/24 ge 32
            ipv6 prefix-list VIPS6 seq 5 permit 2001:db8:100::/48 ge 128
            route-map VIP4 permit 10
             match ip address prefix-list VIPS4
            exit
            route-map VIP6 permit 10
             match ipv6 address prefix-list VIPS6
            exit
            route-map NOTHING deny 10
            exit
            router bgp \(asn)
             bgp router-id 10.77.0.1
             bgp bestpath as-path multipath-relax
            \(neighbours) address-family ipv4 unicast
              maximum-paths 16
            \(ipv4) exit-address-family
             address-family ipv6 unicast
              maximum-paths 16
            \(ipv6) exit-address-family
            exit

            """
    }

    @discardableResult
    func vtysh(_ commands: String...) throws -> String {
        try InteropEnvironment.run(["vtysh", "-N", pathspace] + commands.flatMap { ["-c", $0] })
    }

    func pathCount(_ prefix: String) throws -> Int {
        let family = prefix.contains(":") ? "ipv6" : "ipv4"
        let text = try vtysh("show bgp \(family) unicast \(prefix) json")
        let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        return (json?["paths"] as? [Any])?.count ?? 0
    }

    func requestRefresh(fromSpeaker index: Int) throws {
        try vtysh("clear bgp ipv4 unicast \(lab.speakers[index].address4) soft in")
    }

    func sawAdministrativeShutdown(fromSpeaker index: Int) throws -> Bool {
        try vtysh("show bgp neighbors \(lab.speakers[index].address4)").lowercased()
            .contains("administrative shutdown")
    }

    func stop() {
        for daemon in daemons.reversed() { InteropEnvironment.stopDaemon(daemon) }
        try? FileManager.default.removeItem(atPath: configDirectory)
        try? FileManager.default.removeItem(atPath: runDirectory)
    }
}
