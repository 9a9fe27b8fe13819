import Foundation
import SwitchyardCore

/// A router's BFD daemon in the lab's router namespace, with one session per address of speaker 1
/// (IPv4 and IPv6), 300 ms × 3 as issue 12 asks.
protocol BFDRouter {
    /// The router's view of its session with `peer`: "up", "down", "init", "admindown", or nil
    /// when it lists no such session.
    func sessionState(_ peer: IPAddress) throws -> String?
    /// The daemon that runs BFD, for SIGSTOP.
    var bfdDaemon: Process { get }
    func stop()
}

/// BIRD 2's `protocol bfd` with explicit neighbours.
struct BIRDBFDRouter: BFDRouter {
    let lab: InteropLab
    let socket: String
    let daemon: Process
    var bfdDaemon: Process { daemon }

    /// `bgp` adds a passive eBGP session with speaker 1 over IPv4 (hold time 9 s), for the hook test.
    init(lab: InteropLab, bgp: Bool = false) throws {
        self.lab = lab
        socket = lab.workDirectory.appendingPathComponent("bird.ctl").path
        let config = lab.workDirectory.appendingPathComponent("bird.conf")
        let speaker = lab.speakers[0]
        var text = """
            log "\(lab.workDirectory.path)/bird.log" all;
            router id 10.77.0.1;
            protocol device {}
            protocol bfd {
                interface "*" { min rx interval 300 ms; min tx interval 300 ms; multiplier 3; };
                neighbor \(speaker.address4) local \(speaker.routerAddress4);
                neighbor \(speaker.address6) local \(speaker.routerAddress6);
            }

            """
        if bgp {
            text += """
                protocol bgp s1 {
                    local \(speaker.routerAddress4) as \(InteropLab.routerASN);
                    neighbor \(speaker.address4) as \(speaker.asn);
                    passive on;
                    hold time 9;
                    ipv4 { import none; export none; };
                }

                """
        }
        try text.write(to: config, atomically: true, encoding: .utf8)
        daemon = try InteropEnvironment.startDaemon(
            ["ip", "netns", "exec", lab.router, "bird", "-f", "-c", config.path, "-s", socket],
            log: lab.workDirectory.appendingPathComponent("bird.out"))
        for _ in 0..<50 where daemon.isRunning && !FileManager.default.fileExists(atPath: socket) {
            usleep(100_000)
        }
        guard daemon.isRunning else {
            let log = try? String(contentsOf: lab.workDirectory.appendingPathComponent("bird.out"), encoding: .utf8)
            throw InteropEnvironment.CommandFailed(
                command: ["bird"], status: daemon.terminationStatus, output: log ?? "")
        }
    }

    /// `birdc show bfd sessions`: one line per session, address first, state third.
    func sessionState(_ peer: IPAddress) throws -> String? {
        let text = try InteropEnvironment.run(["birdc", "-s", socket, "show", "bfd", "sessions"])
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 3, fields[0] == "\(peer)" { return fields[2].lowercased() }
        }
        return nil
    }

    func stop() {
        InteropEnvironment.stopDaemon(daemon)
    }
}

/// FRR's bfdd (with zebra, which it asks about interfaces) under its own pathspace.
struct FRRBFDRouter: BFDRouter {
    let lab: InteropLab
    let configDirectory: String
    let runDirectory: String
    private let daemons: [Process]
    var bfdDaemon: Process { daemons[daemons.count - 1] }

    init(lab: InteropLab) throws {
        self.lab = lab
        configDirectory = "/etc/frr/\(lab.prefix)"
        runDirectory = "/var/run/frr/\(lab.prefix)"
        let speaker = lab.speakers[0]
        var started: [Process] = []
        do {
            try FileManager.default.createDirectory(atPath: configDirectory, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
            try "hostname \(lab.prefix)-r\n".write(
                toFile: "\(configDirectory)/zebra.conf", atomically: true, encoding: .utf8)
            var peers = ""
            for (address, local) in [
                (speaker.address4, speaker.routerAddress4), (speaker.address6, speaker.routerAddress6),
            ] {
                peers += """
                     peer \(address) local-address \(local)
                      receive-interval 300
                      transmit-interval 300
                      detect-multiplier 3
                     exit

                    """
            }
            try "frr defaults traditional\nhostname \(lab.prefix)-r\nbfd\n\(peers)exit\n".write(
                toFile: "\(configDirectory)/bfdd.conf", atomically: true, encoding: .utf8)
            try InteropEnvironment.run(["chown", "-R", "frr:frr", configDirectory, runDirectory])
            for daemon in ["zebra", "bfdd"] {
                started.append(
                    try InteropEnvironment.startDaemon(
                        [
                            "ip", "netns", "exec", lab.router, "/usr/lib/frr/\(daemon)", "-N", lab.prefix, "-f",
                            "\(configDirectory)/\(daemon).conf", "-i", "\(runDirectory)/\(daemon).pid",
                        ], log: lab.workDirectory.appendingPathComponent("\(daemon).out")))
                let socket = daemon == "zebra" ? "zserv.api" : "bfdd.vty"
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

    /// `show bfd peers json`: a list of sessions with "peer" and "status".
    func sessionState(_ peer: IPAddress) throws -> String? {
        let text = try InteropEnvironment.run(["vtysh", "-N", lab.prefix, "-c", "show bfd peers json"])
        let sessions = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? []
        for session in sessions where session["peer"] as? String == "\(peer)" {
            return (session["status"] as? String)?.lowercased()
        }
        return nil
    }

    func stop() {
        for daemon in daemons.reversed() { InteropEnvironment.stopDaemon(daemon) }
        try? FileManager.default.removeItem(atPath: configDirectory)
        try? FileManager.default.removeItem(atPath: runDirectory)
    }
}
