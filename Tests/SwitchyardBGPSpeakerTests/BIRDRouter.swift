import Foundation

/// BIRD 2 as the router: one passive eBGP session per speaker and family, an import filter that
/// takes only host routes from the VIP ranges (RFC 8212 needs one), GRACEFUL_SHUTDOWN lowering
/// LOCAL_PREF to 0 (BIRD does not do it by itself), and ECMP into the kernel (`merge paths`).
struct BIRDRouter: InteropRouter {
    static let asn = InteropLab.routerASN
    let lab: InteropLab
    let socket: String
    let daemon: Process

    /// Starts BIRD in the lab's router namespace; `passwords[i]` signs speaker i's sessions; `bfd`
    /// runs BFD (300 ms × 3) on every session, BIRD's `bfd on`.
    init(lab: InteropLab, passwords: [String?], bfd: Bool = false) throws {
        self.lab = lab
        socket = lab.workDirectory.appendingPathComponent("bird.ctl").path
        let config = lab.workDirectory.appendingPathComponent("bird.conf")
        try Self.configuration(lab: lab, passwords: passwords, bfd: bfd)
            .write(to: config, atomically: true, encoding: .utf8)
        daemon = try InteropEnvironment.startDaemon(
            ["ip", "netns", "exec", lab.router, "bird", "-f", "-c", config.path, "-s", socket],
            log: lab.workDirectory.appendingPathComponent("bird.out"))
        // BIRD reads its configuration before it opens the control socket: a bad one ends it first.
        for _ in 0..<50 where daemon.isRunning && !FileManager.default.fileExists(atPath: socket) {
            usleep(100_000)
        }
        guard daemon.isRunning else {
            let log = (try? String(contentsOf: lab.workDirectory.appendingPathComponent("bird.out"), encoding: .utf8))
            throw InteropEnvironment.CommandFailed(
                command: ["bird"], status: daemon.terminationStatus, output: log ?? "")
        }
    }

    private static func configuration(lab: InteropLab, passwords: [String?], bfd: Bool) -> String {
        var text = """
            log "\(lab.workDirectory.path)/bird.log" all;
            router id 10.77.0.1;
            protocol device {}
            protocol kernel k4 { ipv4 { import none; export all; }; merge paths on; }
            protocol kernel k6 { ipv6 { import none; export all; }; merge paths on; }
            filter vips {
                if (65535, 0) ~ bgp_community then bgp_local_pref = 0;
                if net.type = NET_IP4 then {
                    if net ~ [ 198.51.100.0/24{32,32} ] then accept;
                    reject;
                }
                if net ~ [ 2001:db8:100::/48{128,128} ] then accept;
                reject;
            }

            """
        if bfd {
            text += """
                protocol bfd {
                    interface "*" { min rx interval 300 ms; min tx interval 300 ms; multiplier 3; };
                }

                """
        }
        for (index, speaker) in lab.speakers.enumerated() {
            let password = passwords.indices.contains(index) ? passwords[index].map { "password \"\($0)\";" } : nil
            for (family, local, neighbor) in [
                ("ipv4", speaker.routerAddress4, speaker.address4), ("ipv6", speaker.routerAddress6, speaker.address6),
            ] {
                text += """
                    protocol bgp s\(index + 1)\(family == "ipv4" ? "v4" : "v6") {
                        local \(local) as \(asn);
                        neighbor \(neighbor) as \(speaker.asn);
                        passive on;
                        hold time 9;
                        \(bfd ? "bfd on;" : "")
                        \(password ?? "")
                        \(family) { import filter vips; export none; };
                    }

                    """
            }
        }
        return text
    }

    @discardableResult
    func control(_ arguments: String...) throws -> String {
        try InteropEnvironment.run(["birdc", "-s", socket] + arguments)
    }

    /// How many paths BIRD holds for `prefix` (best and backups), whether or not the kernel has them.
    func pathCount(_ prefix: String) throws -> Int {
        try control("show", "route", prefix).components(separatedBy: "\n")
            .filter { $0.contains("unicast [") }.count
    }

    func requestRefresh(fromSpeaker index: Int) throws {
        try control("reload", "in", "s\(index + 1)v4")
    }

    func sawAdministrativeShutdown(fromSpeaker index: Int) throws -> Bool {
        try control("show", "protocols", "all", "s\(index + 1)v4").contains("Administrative shutdown")
    }

    func stop() {
        InteropEnvironment.stopDaemon(daemon)
    }
}

/// What the scenario asks of a router, BIRD or FRR.
protocol InteropRouter {
    /// Paths the router holds for `prefix`, best and backups.
    func pathCount(_ prefix: String) throws -> Int
    /// Makes the router send a ROUTE-REFRESH on speaker `index`'s IPv4 session.
    func requestRefresh(fromSpeaker index: Int) throws
    /// Whether speaker `index`'s IPv4 session ended with a Cease / Administrative Shutdown.
    func sawAdministrativeShutdown(fromSpeaker index: Int) throws -> Bool
    func stop()
}
