import ArgumentParser
import Foundation
import SwitchyardCore
import SwitchyardDatapath
import SwitchyardLab

struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "A whole Switchyard deployment in network namespaces: client, router, LB nodes, backends.",
        subcommands: [
            Up.self, Down.self, Demo.self, ScenarioCommand.self, BenchCommand.self, BenchSyncCommand.self,
            BenchBGPCommand.self,
        ])

    static func executable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Builds a lab that is torn down on exit, Ctrl-C or SIGTERM.
    static func withLab<T>(
        mode: ServiceMode, store: FlowStoreSettings.Kind = .redis, routing: LabRouting = .bgp(router: .bird),
        storeTLS: Bool = false, flowTableCapacity: Int? = nil, backgroundFill: Double? = nil,
        topology: LabTopology = .flat, kubernetes: Bool = false, _ body: (Lab) throws -> T
    ) throws -> T {
        if let reason = Privileges.bpfUnavailableReason() {
            printError("lab: \(reason)")
            throw ExitCode(2)
        }
        var options = Lab.Options(mode: mode, store: store, routing: routing)
        options.storeTLS = storeTLS
        if let flowTableCapacity { options.flowTableCapacity = flowTableCapacity }
        options.backgroundFill = backgroundFill
        options.topology = topology
        options.kubernetes = kubernetes
        let lab = Lab(options: options, executable: executable())
        let teardown = LabTeardown {
            lab.interrupt()
            lab.down()
        }
        defer { teardown.run() }
        try lab.up()
        return try body(lab)
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a lab and leave it running (remove it with `lab down`).")
        @Option(help: "stateless or stateful") var mode: ServiceMode = .stateless
        @Option(
            help: ArgumentHelp(LabCommand.storeHelp))
        var store: FlowStoreSettings.Kind = .redis
        @Flag(help: ArgumentHelp(LabCommand.storeTLSHelp)) var storeTLS = false
        @OptionGroup var routing: RoutingOptions
        @OptionGroup var topology: TopologyOption
        @Flag(help: ArgumentHelp(LabCommand.kubernetesHelp)) var kubernetes = false

        func run() throws {
            var options = Lab.Options(mode: mode, store: store, routing: try routing.parsed())
            options.storeTLS = try LabCommand.checkStoreTLS(storeTLS, mode: mode, store: store)
            options.topology = try topology.parsed(routing: options.routing)
            options.kubernetes = kubernetes
            let lab = Lab(options: options, executable: LabCommand.executable())
            // Interrupted or failed while building: nothing is left half-built. Built: it stays.
            let teardown = LabTeardown {
                lab.interrupt()
                lab.down()
            }
            do { try lab.up() } catch {
                teardown.run()
                throw error
            }
            teardown.disarm()
            print(
                """
                lab \(lab.id) is up (files in \(lab.dir)).
                  try:     ip netns exec \(lab.client) curl -s http://\(Lab.vip4)/
                           \(LabCommand.executable()) status --socket \(lab.dir)/lb1.sock
                """)
            if kubernetes {
                print(
                    """
                               ip netns exec \(lab.router) env HOME=\(lab.kubeDirectory)/home kubectl \
                    --kubeconfig \(lab.kubeconfig) get svc,endpointslices,pods
                    """)
            }
            if let router = options.routing.router {
                let control =
                    router == .bird
                    ? "birdc -s \(lab.routerDirectory)/bird.ctl show protocols"
                    : "vtysh --vty_socket \(lab.routerDirectory) -c 'show bgp summary'"
                print(
                    """
                               \(control)
                               ip -n \(lab.router) route show \(Lab.vip4)
                               ip netns exec \(lab.lb(2)) \(LabCommand.executable()) drain --socket \(lab.dir)/lb2.sock
                    """)
            }
            if let store = lab.storeCommandLine {
                print("           ip netns exec \(lab.router) \(store)")
            }
            print("  remove:  \(LabCommand.executable()) lab down --id \(lab.id)")
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a lab (or every lab): processes, namespaces, pins, files.")
        @Option(help: "The lab id (default: every lab on this machine).") var id: String?

        func run() throws {
            if let id {
                guard LabInventory.exists(id: id) else {
                    let ids = LabInventory.ids()
                    let others =
                        ids.isEmpty
                        ? "there is no lab on this machine"
                        : "labs here: \(ids.joined(separator: ", "))"
                    throw CommandFailure("no lab with id '\(id)' exists; \(others)")
                }
                Lab.down(id: id)
                print("lab \(id) removed")
            } else {
                let ids = Lab.downAll()
                print(
                    ids.isEmpty
                        ? "no lab to remove" : "removed lab\(ids.count == 1 ? "" : "s") \(ids.joined(separator: ", "))")
            }
        }
    }

    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Build a lab, send real traffic, report what happened (per backend, DSR, an LB change), tear down.")
        @Option(help: "stateless or stateful") var mode: ServiceMode = .stateless
        @Option(help: "Connections held through the LB-node change.") var connections: Int = 200
        @OptionGroup var routing: RoutingOptions
        @Flag(help: "The Kubernetes demo: a Service from kubectl, pods as DSR backends, a rolling update (stateful).")
        var kubernetes = false

        func run() throws {
            let routing = try routing.parsed()
            if kubernetes {
                let report = try LabCommand.withLab(mode: .stateful, routing: routing, kubernetes: true) {
                    try $0.kubernetesDemo(connections: connections)
                }
                print(report)
                return
            }
            let report = try LabCommand.withLab(mode: mode, routing: routing) {
                try $0.demo(connections: connections)
            }
            print(report)
            // Why Switchyard exists: the double change that breaks per-node state, once per mode,
            // each on a fresh lab so both start from the same place.
            var results: [ScenarioResult] = []
            for mode in [ServiceMode.stateless, .stateful] {
                results.append(
                    try LabCommand.withLab(mode: mode, routing: routing) {
                        try $0.run(.lbAddBackendAdd, connections: connections)
                    })
            }
            print(Lab.doubleChangeReport(results).joined(separator: "\n"))
            print(
                "\nTeardown: namespaces, processes, pins and files removed "
                    + "(\(NetworkNamespace.list(prefix: "sy").isEmpty ? "nothing left" : "some namespaces remain!"))."
            )
        }
    }

    struct BenchSyncCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench-sync",
            abstract:
                "Time from a stateful flow's first packet on lb1 to its entry in lb2's datapath table, "
                + "through Redis (p50/p99), and store bytes per flow."
        )
        @Option(help: "New flows per second, comma-separated.") var rates: String = "1000,10000"
        @Option(help: "Seconds per rate.") var seconds: Double = 3
        @Option(help: "The shared store: redis, redis-cluster or redis-sentinel.")
        var store: FlowStoreSettings.Kind = .redis
        @Flag(help: ArgumentHelp(LabCommand.storeTLSHelp)) var storeTLS = false
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let list = rates.split(separator: ",").compactMap { Int($0) }
            guard !list.isEmpty, list.allSatisfy({ $0 > 0 && $0 <= 100_000 }) else {
                throw CommandFailure("--rates: expected rates from 1 to 100000, got '\(rates)'")
            }
            guard store != .embedded else {
                throw CommandFailure(
                    "bench-sync times sharing between LB nodes: --store redis, redis-cluster or redis-sentinel")
            }
            let results = try LabCommand.withLab(
                mode: .stateful, store: store, storeTLS: storeTLS, flowTableCapacity: 1 << 20
            ) {
                try $0.benchSync(rates: list, seconds: seconds)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(results), as: UTF8.self))
            } else {
                print(
                    "lab bench-sync: handshakes into lb1 → entry in lb2's table, through the \(store.rawValue) store"
                        + (storeTLS ? " over TLS" : ""))
                for r in results {
                    let cpu = r.agentCPUMillisecondsPer1000Flows.sorted { $0.key < $1.key }
                        .map { "\($0.key) \(String(format: "%.1f", $0.value))" }.joined(separator: ", ")
                    print(
                        String(format: "  %6d flows/s (sent %.0f/s): ", r.rate, r.sentPerSecond)
                            + "\(r.reached)/\(r.flows) reached, p50 \(Lab.ms(r.p50Milliseconds)), "
                            + "p99 \(Lab.ms(r.p99Milliseconds)), max \(Lab.ms(r.maxMilliseconds))"
                            + (r.storeBytesPerFlow.map { String(format: ", store %.0f B/flow", $0) } ?? "")
                            + (cpu.isEmpty ? "" : "; agent CPU ms per 1000 flows: \(cpu)"))
                }
            }
        }
    }

    struct BenchBGPCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench-bgp",
            abstract:
                "Time, on the router's kernel route: lb3's agent start until the route lists it, drain until it "
                + "is gone, link cut until BFD removes it (p50/max over N runs, with where the time goes)."
        )
        @Option(help: "The router's daemon: bird or frr.") var router: String = "bird"
        @Option(help: "Rounds of start, drain and cut on one lab.") var runs: Int = 10
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            guard (1...100).contains(runs) else { throw CommandFailure("--runs: expected 1 to 100, got \(runs)") }
            let routing: LabRouting
            do { routing = try LabRouting.parse(routing: "bgp", router: router) } catch {
                throw CommandFailure(error.description)
            }
            let report = try LabCommand.withLab(mode: .stateless, routing: routing) { try $0.benchBGP(runs: runs) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
                return
            }
            print("lab bench-bgp (\(report.router), \(report.runs) runs; seconds on the router's kernel route)")
            func seconds(_ figure: BGPBenchFigure) -> String {
                String(format: "p50 %.3f  max %.3f", figure.p50Seconds, figure.maxSeconds)
            }
            for (name, figure) in [
                ("agent start → route (IPv4)", report.agentStartIPv4),
                ("agent start → route (IPv6)", report.agentStartIPv6), ("drain → route gone", report.drain),
                ("link cut → route gone (BFD)", report.linkCut),
            ] {
                print("  \(name.padding(toLength: 30, withPad: " ", startingAt: 0))\(seconds(figure))")
            }
            print("where the time goes:")
            for stage in report.breakdown {
                print("  \(stage.event): \(stage.stage): \(seconds(stage.figure))")
            }
        }
    }

    struct BenchCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench",
            abstract:
                "Throughput (iperf3) and new connections/s through the XDP LB vs plain kernel routing "
                + "over the same hops."
        )
        @Option(help: "Seconds per iperf3 run.") var seconds: Int = 4
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let report = try LabCommand.withLab(mode: .stateless) { try $0.bench(seconds: seconds) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print("lab bench (best of 2 interleaved runs per path; one TCP stream; 16 connect workers)")
                for r in report.paths {
                    print(
                        "  \(r.path.padding(toLength: 26, withPad: " ", startingAt: 0)) "
                            + String(format: "%6.2f Gbit/s  %8.0f conn/s", r.throughputGbps, r.connectionsPerSecond))
                }
                print(
                    String(
                        format: "  XDP ÷ kernel routing: throughput %.2f, connections %.2f",
                        report.throughputRatio, report.connectionsRatio))
            }
        }
    }

    struct ScenarioCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scenario",
            abstract: "Hold N long-lived connections, make a change, account for every connection.",
            discussion: "Scenarios: "
                + Scenario.allCases.map { "\($0.rawValue) (\($0.summary))" }.joined(separator: "; "))
        @Argument(help: "The scenario.") var name: String
        @Option(help: "stateless or stateful") var mode: ServiceMode = .stateless
        @Option(
            help: ArgumentHelp(LabCommand.storeHelp))
        var store: FlowStoreSettings.Kind = .redis
        @Flag(help: ArgumentHelp(LabCommand.storeTLSHelp)) var storeTLS = false
        @Option(help: "Connections to hold (half per VIP family).") var connections: Int = 200
        @Option(
            help: "Fill each LB node's flow table to this fraction of its capacity (0-1) with background flows first.")
        var fill: Double?
        @OptionGroup var routing: RoutingOptions
        @OptionGroup var topology: TopologyOption
        @Flag(help: ArgumentHelp(LabCommand.kubernetesHelp)) var kubernetes = false
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            if let fill, !(0...1).contains(fill) {
                throw CommandFailure("--fill takes a fraction from 0 to 1, not \(fill)")
            }
            if let scenario = KubernetesScenario(rawValue: name) {
                guard fill == nil, try self.topology.parsed(routing: routing.parsed()) == .flat else {
                    throw CommandFailure("\(name) runs on the flat Kubernetes lab: drop --fill and --topology")
                }
                let result = try LabCommand.withLab(
                    mode: mode, store: store, routing: routing.parsed(), kubernetes: true
                ) {
                    try $0.run(scenario, connections: connections)
                }
                return try report(result)
            }
            guard let scenario = Scenario(rawValue: name) else {
                let names = (Scenario.allCases.map(\.rawValue) + KubernetesScenario.allCases.map(\.rawValue))
                    .joined(separator: ", ")
                throw CommandFailure("unknown scenario '\(name)'; expected one of \(names)")
            }
            if kubernetes {
                let names = KubernetesScenario.allCases.map(\.rawValue).joined(separator: ", ")
                throw CommandFailure("\(name) needs the lab's backends; with --kubernetes run one of \(names)")
            }
            if let stores = scenario.stores, mode != .stateful || !stores.contains(store) {
                throw CommandFailure(
                    "\(name) acts on the shared flow store: run it with --mode stateful --store "
                        + stores.map(\.rawValue).sorted().joined(separator: " or "))
            }
            let storeTLS = try LabCommand.checkStoreTLS(self.storeTLS, mode: mode, store: store)
            let routing = try self.routing.parsed()
            if scenario.needsBGP, routing == .static {
                throw CommandFailure("\(name) takes lb1 out of ECMP through BGP: run it with --routing bgp")
            }
            if scenario.needsBGP, mode == .stateful, store == .embedded {
                throw CommandFailure("\(name) needs two LB nodes in ECMP; the embedded store routes to lb1 alone")
            }
            let topology = try self.topology.parsed(routing: routing)
            let result = try LabCommand.withLab(
                mode: mode, store: store, routing: routing, storeTLS: storeTLS, backgroundFill: fill,
                topology: topology
            ) {
                try $0.run(scenario, connections: connections)
            }
            try report(result)
        }

        private func report(_ result: ScenarioResult) throws {
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(result), as: UTF8.self))
            } else {
                print(
                    "\(result.scenario) (\(result.mode)): \(result.established) established, "
                        + "\(result.survived) survived, \(result.failed) failed, "
                        + "\(result.expectedFailed) expected to fail; \(result.durationSeconds) s"
                        + (result.routing.map { ", routing \($0)" } ?? ""))
                if let withdraw = result.withdrawSeconds { print("  the router's route changed after \(withdraw) s") }
                if let drained = result.drained {
                    print(
                        "  \(drained) connections drained with their pods; \(result.terminatingSurvived ?? 0) of them "
                            + "still answering when their pod exited")
                }
                if let released = result.addressReleased { print("  address released to the pool: \(released)") }
                if let flood = result.flood { print("  flood: \(flood)") }
                for (node, f) in (result.fill ?? [:]).sorted(by: { $0.key < $1.key }) {
                    print(
                        "  \(node): table \(Int((f.filled.fraction * 100).rounded()))% full "
                            + "(\(f.filled.after) of \(f.filled.capacity)); \(f.backgroundAfter) of "
                            + "\(f.filled.written) background flows still there after the change")
                }
                for f in result.failures { print("  \(f)") }
            }
        }
    }
}

/// `--routing` and `--router`, shared by `lab up`, `lab demo` and `lab scenario`.
struct RoutingOptions: ParsableArguments {
    @Option(
        help: "How the router learns the ECMP group: static (the lab writes the route) or bgp (the agents announce)."
    )
    var routing: String = "bgp"
    @Option(help: "With --routing bgp: the router's daemon, bird (default) or frr.") var router: String?

    func parsed() throws -> LabRouting {
        do {
            return try LabRouting.parse(routing: routing, router: router)
        } catch {
            throw CommandFailure(error.description)
        }
    }
}

/// `--topology`, shared by `lab up` and `lab scenario`.
struct TopologyOption: ParsableArguments {
    static let help =
        "flat (the client on the router) or two-tier (with --routing bgp: the client behind an upstream "
        + "router that learns one aggregate per VIP range)."
    @Option(help: ArgumentHelp(Self.help)) var topology: String = "flat"

    func parsed(routing: LabRouting) throws -> LabTopology {
        do {
            return try LabTopology.parse(topology, routing: routing)
        } catch {
            throw CommandFailure(error.description)
        }
    }
}

extension LabCommand {
    static let storeHelp =
        "Stateful mode's flow store: redis (one server), redis-cluster (3 primaries with a replica each) or "
        + "redis-sentinel (a primary and a replica under 3 Sentinels), shared by the LB nodes; or embedded "
        + "(lb1 alone takes traffic)."
    static let storeTLSHelp = "The shared store speaks TLS only (the lab makes a CA and certificates)."

    /// `--store-tls` needs a store the lab runs.
    static func checkStoreTLS(_ tls: Bool, mode: ServiceMode, store: FlowStoreSettings.Kind) throws -> Bool {
        if tls, mode != .stateful || store == .embedded {
            throw CommandFailure("--store-tls secures the shared store: add --mode stateful and a Redis --store")
        }
        return tls
    }

    static let kubernetesHelp =
        "Workers with pods instead of backends; Services, EndpointSlices and addresses from a Kubernetes API "
        + "server in the router namespace (the test one: the lab plays the kubelet and the EndpointSlice controller)."
}

extension ServiceMode: ExpressibleByArgument {}
extension FlowStoreSettings.Kind: ExpressibleByArgument {}

struct LabFloodCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lab-flood", shouldDisplay: false)
    @Option var vip: String
    @Option var port: Int = 80
    @Option var rate: Double = 30000
    @Option var count: Int = 150_000
    @Option var sourceBase: Int = 99
    /// Each SYN followed by its ACK, as bench-sync sends them (a stateful flow is shared then).
    @Flag var handshake = false

    func run() throws {
        guard let address = IPv4Address(vip) else {
            throw CommandFailure("--vip: expected an IPv4 address, got '\(vip)'")
        }
        let sent = try SYNSender(destination: address, port: UInt16(port), sourceBase: UInt8(sourceBase)).send(
            count: count, rate: rate, handshake: handshake)
        print(String(decoding: try JSONEncoder().encode(FloodSent(sent: sent)), as: UTF8.self))
    }
}

/// Hidden helpers the lab runs inside its namespaces.
struct LabPingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lab-ping", shouldDisplay: false)
    @Argument var address: String
    @Option var count: Int = 5
    @Option var timeout: Double = 2

    func run() throws {
        guard let target = IPAddress(address) else { throw CommandFailure("expected an IP address, got '\(address)'") }
        let result = try Pinger(address: target).run(count: count, timeout: timeout)
        print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
    }
}

struct LabServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lab-server", shouldDisplay: false)
    @Option var name: String
    @Option var port: Int = 80
    func run() async throws { try await TrafficServer(name: name, port: port).run() }
}

/// One `WHO` to a Service: which pod answered and the client address it saw (JSON).
struct LabWhoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lab-who", shouldDisplay: false)
    @Option var host: String
    @Option var port: Int = 80
    func run() async throws {
        guard let answer = await TrafficClient.whoami(host: host, port: port) else {
            throw CommandFailure("no WHO answer from \(host):\(port)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(
            String(
                decoding: try encoder.encode(WhoAnswer(backend: answer.backend, client: answer.client)), as: UTF8.self))
    }
}

struct LabHTTPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lab-http", shouldDisplay: false)
    @Option var host: String
    @Option var port: Int = 80
    @Option var count: Int = 1
    @Option var path: String = "/"
    func run() async throws {
        let (per, bytes) = await TrafficClient.http(host: host, port: port, count: count, path: path)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(HTTPReport(perBackend: per, bytes: bytes)), as: UTF8.self))
    }
}

struct LabConnRateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lab-connrate", shouldDisplay: false)
    @Option var host: String
    @Option var port: Int = 80
    @Option var seconds: Double = 2
    func run() async throws {
        let rate = await ConnectionRate.measure(host: host, port: port, seconds: seconds)
        print(String(decoding: try JSONEncoder().encode(ConnectionRateReport(perSecond: rate)), as: UTF8.self))
    }
}

struct LabClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lab-client", shouldDisplay: false)
    @Option var host: String
    @Option var port: Int = 80
    @Option var connections: Int = 100

    func run() async throws {
        let client = TrafficClient(host: host, port: port)
        await client.establish(connections)
        try emit(.established(perBackend: await client.snapshot()))
        while let line = readLine() {
            let words = line.split(separator: " ")
            if words.first == "probe", let n = words.dropFirst().first.flatMap({ Int($0) }) {
                try emit(.probe(perBackend: await TrafficClient.probe(host: host, port: port, count: n)))
            } else if words.first == "alive" {
                try emit(.alive(perBackend: await client.alive()))
            } else if words.first == "stop" {
                try emit(.result(await client.finish()))
                return
            }
        }
    }

    private func emit(_ event: LabClientEvent) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Unbuffered: the controller waits for the line.
        FileHandle.standardOutput.write(try encoder.encode(event) + Data("\n".utf8))
    }
}
