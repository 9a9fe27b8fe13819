import ArgumentParser
import DatapathModel
import SwitchyardConfig
import SwitchyardCore

struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Run one packet through the datapath model and show every decision and the output headers.",
        discussion: """
            Packet notation:
              tcp 10.0.1.2:40000 > 10.200.0.10:80 S len=100
              udp [2001:db8::2]:5353 > [2001:db8:200::10]:53
              icmp 192.0.2.1 > 10.200.0.10 frag-needed mtu=1400 quote="tcp 10.200.0.10:80 > 10.0.1.2:40000 A"
            Options: len= ttl= tos= id= nodf mf fragoff= ipopts= ext=hbh,dst,rt,frag flowlabel= quotelen=
            truncate= pad= poke=OFFSET:HEX
            """)

    @Option(help: "The YAML config file.") var config: String
    @Option(help: "The packet, in the notation below.") var packet: String

    func run() throws {
        let loaded: SwitchyardConfig
        switch ConfigLoader.load(path: config) {
        case .failure(let errors):
            for error in errors.errors { printError(error.description) }
            throw ExitCode(1)
        case .success(let c): loaded = c
        }
        let description: PacketDescription
        do { description = try PacketSpec.parse(packet) } catch {
            printError("--packet: \(error)")
            throw ExitCode(2)
        }
        var tables = DatapathTables(config: loaded)
        let frame = description.frame()
        let guePorts = Set(loaded.services.filter { $0.encap == .gue }.map(\.guePort))
        let result = Pipeline.process(frame, tables: &tables)

        print("packet    \(packet)")
        for line in FrameDescriber.describe(frame) { print("          \(line)") }
        if let d = result.decision {
            let service = loaded.services[Int(d.serviceID)]
            print(
                "service   \(d.service) '\(service.name)': \(service.mode.rawValue), key \(service.flowKey.rawValue), encap \(service.encap == .gue ? "gue port \(service.guePort)" : "ipip")"
            )
            let slot = SwitchyardHash.ringSlot(d.flowHash, ringSize: UInt32(loaded.node.maglevTableSize))
            print("flow      key \(d.flowKey)")
            print(
                "          hash 0x\(String(d.flowHash, radix: 16)), ring slot \(slot) of \(loaded.node.maglevTableSize)"
            )
            if let stale = d.staleEntryBackend {
                print(
                    "          entry pointed at \(tables.backendNames[stale] ?? "#\(stale)"), which is down or gone: re-picked"
                )
            }
            if let backend = d.backend, let outcome = d.flow {
                let how =
                    switch outcome {
                    case .hit: "flow-table hit"
                    case .inserted: "flow-table miss, ring chose it, entry inserted"
                    case .ringOnly: "ring chose it, no entry written"
                    }
                print("backend   \(tables.backendNames[backend] ?? "#\(backend)") (\(how))")
            }
        } else if case .pass = result.verdict {
            print("service   none: destination is not a VIP")
        }
        print("verdict   \(result.verdict)")
        if case .tx(let output) = result.verdict {
            for line in FrameDescriber.describe(output, guePorts: guePorts) { print("          \(line)") }
        }
        for (id, c) in result.counters.services.sorted(by: { $0.key < $1.key }) {
            print(
                "counters  service \(tables.serviceNames[id] ?? "#\(id)"): packets +\(c.packets) bytes +\(c.bytes) new_flows +\(c.newFlows) too_big +\(c.tooBig)"
            )
        }
        for (id, c) in result.counters.backends.sorted(by: { $0.key < $1.key }) {
            print(
                "counters  backend \(tables.backendNames[id] ?? "#\(id)"): packets +\(c.packets) bytes +\(c.bytes) new_flows +\(c.newFlows)"
            )
        }
        for (reason, n) in result.counters.drops { print("counters  drop \(reason.name) +\(n)") }
    }
}
