import ArgumentParser
import SwitchyardCore

@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract:
            "An L4 load balancer for bare-metal Kubernetes and Linux fleets: XDP datapath, Maglev, shared flow state.",
        version: SwitchyardVersion.current,
        subcommands: [
            ValidateCommand.self, AgentCommand.self, ControllerCommand.self, EndpointAgentCommand.self,
            PodDSRCommand.self, StatusCommand.self,
            DrainCommand.self,
            BackendCommand.self,
            LabCommand.self,
            MaglevCommand.self, TraceCommand.self, DatapathCommand.self, BenchCommand.self, LabServerCommand.self,
            LabClientCommand.self, LabHTTPCommand.self, LabWhoCommand.self, LabConnRateCommand.self,
            LabFloodCommand.self,
            LabPingCommand.self,
        ]
    )
}
