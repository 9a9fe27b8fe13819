import Foundation
import Glibc
import SwitchyardDatapath

/// The routing daemon in the router namespace (`--routing bgp`): BIRD or FRR, with every config,
/// control socket, pid file and log under `<lab dir>/router`, so labs side by side never share
/// a path and removing the lab directory removes them all. The daemons live in the router
/// namespace, so deleting it kills them; `Lab.down` also kills them by pid file first.
extension Lab {
    public var routerDirectory: String { "\(dir)/router" }
    var birdSocket: String { "\(routerDirectory)/bird.ctl" }
    var bgpFabric: LabBGPFabric { LabBGPFabric(lbNodes: options.lbNodes) }

    static let frrDaemons = ["zebra", "bfdd", "bgpd"]

    func startRouter(_ router: LabRouter) throws {
        try FileManager.default.createDirectory(atPath: routerDirectory, withIntermediateDirectories: true)
        switch router {
        case .bird: try startBIRD()
        case .frr: try startFRR()
        }
        log("router: \(router.rawValue) up (files in \(routerDirectory))")
    }

    private func startBIRD() throws {
        let config = "\(routerDirectory)/bird.conf"
        var text = bgpFabric.birdConfiguration(logFile: "\(routerDirectory)/bird.log")
        if options.topology == .twoTier { text += bgpFabric.birdAggregation(sources: aggregateSources) }
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        try spawn(
            router, ["bird", "-f", "-c", config, "-s", birdSocket, "-P", "\(routerDirectory)/bird.pid"],
            log: "router/bird.out")
        // BIRD reads its configuration before it opens the control socket: a bad one ends it first.
        try waitForRouterFile(birdSocket, log: "router/bird.out")
    }

    /// zebra first (bfdd and bgpd register with it), then bfdd (bgpd asks it for sessions), then
    /// bgpd. The daemons drop to the `frr` user, so their directory is theirs.
    private func startFRR() throws {
        let d = routerDirectory
        let hostname = "\(prefix)-router"
        try "hostname \(hostname)\n".write(toFile: "\(d)/zebra.conf", atomically: true, encoding: .utf8)
        try bgpFabric.frrBFDConfiguration(hostname: hostname, logFile: "\(d)/bfdd.log").write(
            toFile: "\(d)/bfdd.conf", atomically: true, encoding: .utf8)
        try bgpFabric.frrBGPConfiguration(hostname: hostname).write(
            toFile: "\(d)/bgpd.conf", atomically: true, encoding: .utf8)
        try sh(["chown", "-R", "frr:frr", d])
        for daemon in Self.frrDaemons {
            var argv = [
                "/usr/lib/frr/\(daemon)", "--vty_socket", d, "-z", "\(d)/zserv.api", "-f", "\(d)/\(daemon).conf",
                "-i", "\(d)/\(daemon).pid",
            ]
            if daemon == "bfdd" { argv += ["--bfdctl", "\(d)/bfdd.sock"] }
            try spawn(router, argv, log: "router/\(daemon).out")
            try waitForRouterFile("\(d)/\(daemon).vty", log: "router/\(daemon).out")
        }
    }

    /// The spawned process is `setsid`, which may fork: the daemon's socket is the sign of life.
    func waitForRouterFile(_ path: String, log name: String) throws {
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: path) { usleep(50_000) }
        guard FileManager.default.fileExists(atPath: path) else {
            let output = (try? String(contentsOfFile: "\(dir)/\(name).log", encoding: .utf8)) ?? ""
            throw NetworkNamespace.CommandError(
                description: "the router daemon did not open \(path) in 5 s; its output: \(output.suffix(600))")
        }
    }

    /// The router's own view of its BGP sessions, as its CLI prints it (for the demo and errors).
    public func routerSessions() -> String {
        switch options.routing {
        case .static: return "(static routing: no BGP)"
        case .bgp(.bird): return (try? sh(["birdc", "-s", birdSocket, "show", "protocols"])) ?? "(birdc failed)"
        case .bgp(.frr): return (try? vtysh("show bgp summary")) ?? "(vtysh failed)"
        }
    }

    @discardableResult
    func vtysh(_ commands: String...) throws -> String {
        try sh(["vtysh", "--vty_socket", routerDirectory] + commands.flatMap { ["-c", $0] })
    }

    /// Kills the routing daemons of lab `id` by their pid files, when the pid still names one of
    /// them (a pid file can outlive its process and the number be reused).
    static func killRouterDaemons(id: String) {
        let directory = dirPrefix + id + "/router"
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for file in files where file.hasSuffix(".pid") {
            let text = (try? String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8)) ?? ""
            guard let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 else { continue }
            let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
            let command = String(decoding: cmdline.prefix { $0 != 0 }, as: UTF8.self)
            guard command.hasSuffix("bird") || command.hasPrefix("/usr/lib/frr/") else { continue }
            kill(pid, SIGKILL)
        }
    }
}
