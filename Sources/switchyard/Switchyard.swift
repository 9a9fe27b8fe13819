import ArgumentParser

@main
struct Switchyard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "An L4 load balancer for bare-metal Kubernetes and Linux fleets: XDP datapath, Maglev, shared flow state.",
        subcommands: [ValidateCommand.self, MaglevCommand.self, TraceCommand.self, DatapathCommand.self, BenchCommand.self]
    )
}
