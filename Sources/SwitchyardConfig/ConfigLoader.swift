import Foundation
import SwitchyardCore
import Yams

/// The config file boundary: YAML text in, a validated `SwitchyardConfig` or every error out,
/// each at its file, line and field. The rules live in `ConfigValidation`; this file reads YAML
/// into a `ConfigSpec` and places the core's problems on lines. Nothing past it sees YAML.
public enum ConfigLoader {
    /// `adjust` changes the spec read before the rules run (Kubernetes mode fills in the node's name).
    public static func load(path: String, adjust: ((inout ConfigSpec) -> Void)? = nil)
        -> Result<SwitchyardConfig, ConfigErrors>
    {
        switch ConfigFile.contents(of: path) {
        case .success(let text): parse(yaml: text, file: path, adjust: adjust)
        case .failure(let error): .failure(ConfigErrors([error]))
        }
    }

    /// The validated config and the spec it came from (after `adjust`), read once: for a source that adds
    /// to the file's spec (Kubernetes mode adds the services).
    public static func loadWithSpec(path: String, adjust: ((inout ConfigSpec) -> Void)? = nil)
        -> Result<(spec: ConfigSpec, config: SwitchyardConfig), ConfigErrors>
    {
        switch ConfigFile.contents(of: path) {
        case .success(let text): read(yaml: text, file: path, adjust: adjust)
        case .failure(let error): .failure(ConfigErrors([error]))
        }
    }

    public static func parse(yaml: String, file: String, adjust: ((inout ConfigSpec) -> Void)? = nil)
        -> Result<SwitchyardConfig, ConfigErrors>
    {
        read(yaml: yaml, file: file, adjust: adjust).map(\.config)
    }

    static func read(yaml: String, file: String, adjust: ((inout ConfigSpec) -> Void)?)
        -> Result<(spec: ConfigSpec, config: SwitchyardConfig), ConfigErrors>
    {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                let message = "is empty; expected a mapping with 'node' and 'services'"
                return .failure(
                    ConfigErrors([
                        ConfigError(
                            file: file, line: 1, field: FieldPath.root.description,
                            message: message)
                    ]))
            }
            root = node
        } catch {
            return .failure(ConfigErrors(YAMLSyntax.errors(for: error, in: yaml, file: file)))
        }
        let log = ReadLog()
        var spec = SpecReader(log: log).read(Located(node: root, path: .root))
        adjust?(&spec)
        var errors = log.entries.map {
            ConfigError(file: file, line: $0.line, field: $0.path.description, message: $0.message)
        }
        switch ConfigValidation.validate(spec) {
        case .success(let config) where errors.isEmpty:
            return .success((spec, config))
        case .success:
            break
        case .failure(let problems):
            errors += problems.problems.filter { !log.covers($0.path) }.map { problem in
                let first = problem.firstAt.map { " (first at line \(log.line(of: $0)))" } ?? ""
                return ConfigError(
                    file: file, line: log.line(of: problem.path), field: problem.path.description,
                    message: problem.message + first)
            }
        }
        return .failure(ConfigErrors(errors.sorted { ($0.line, $0.field) < ($1.line, $1.field) }))
    }
}
