import ArgumentParser
import SwitchyardConfig
import SwitchyardCore

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a config file: print a summary, or every error as FILE:LINE: field: problem (exit 1).")

    @Argument(help: "The YAML config file.")
    var file: String

    func run() throws {
        switch ConfigLoader.load(path: file) {
        case .failure(let errors):
            for error in errors.errors { printError(error.description) }
            printError("\(file): \(errors.errors.count) error\(errors.errors.count == 1 ? "" : "s"); nothing applied")
            throw ExitCode(1)
        case .success(let config):
            print(ConfigSummary.render(config, file: file))
        }
    }
}

enum ConfigSummary {
    static func render(_ config: SwitchyardConfig, file: String) -> String {
        let node = config.node
        var lines = [
            "\(file): OK",
            "node \(node.name): ipv4 source \(node.ipv4Source.map(\.description) ?? "-"), ipv6 source \(node.ipv6Source.map(\.description) ?? "-"), mtu \(node.mtu), maglev \(node.maglevTableSize) slots, flow table \(node.flowTableCapacity) entries",
        ]
        lines.append("\(config.services.count) service\(config.services.count == 1 ? "" : "s"):")
        let width = config.services.map(\.key.description.count).max() ?? 0
        for service in config.services {
            let states = BackendState.allCases.map { state in
                (state, service.backends.filter { $0.state == state }.count)
            }
            .filter { $0.1 > 0 }.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
            let key = service.key.description.padding(toLength: width, withPad: " ", startingAt: 0)
            lines.append(
                "  \(key)  \(service.name): \(service.mode.rawValue), key \(service.flowKey.rawValue), \(service.encap == .gue ? "gue:\(service.guePort)" : "ipip"), \(service.backends.count) backend\(service.backends.count == 1 ? "" : "s")\(states.isEmpty ? "" : " (\(states))")"
            )
        }
        return lines.joined(separator: "\n")
    }
}

func printError(_ text: String) {
    var stderr = StandardError()
    print(text, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
