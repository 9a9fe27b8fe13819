import Foundation
import SwitchyardCore
import Yams

/// The config file boundary: YAML text in, a validated `SwitchyardConfig` or every error out,
/// each at its file, line and field. The rules live in `ConfigValidation`; this file reads YAML
/// into a `ConfigSpec` and places the core's problems on lines. Nothing past it sees YAML.
public enum ConfigLoader {
    public static func load(path: String) -> Result<SwitchyardConfig, ConfigErrors> {
        switch ConfigFile.contents(of: path) {
        case .success(let text): parse(yaml: text, file: path)
        case .failure(let error): .failure(ConfigErrors([error]))
        }
    }

    /// The file's spec, unvalidated, for a source that adds to it (Kubernetes mode adds the services);
    /// syntax and type errors are reported here, the rules by `load`.
    public static func spec(path: String) -> Result<ConfigSpec, ConfigErrors> {
        let text: String
        switch ConfigFile.contents(of: path) {
        case .success(let contents): text = contents
        case .failure(let error): return .failure(ConfigErrors([error]))
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                return .failure(
                    ConfigErrors([
                        ConfigError(file: path, line: 1, field: FieldPath.root.description, message: "is empty")
                    ]))
            }
            root = node
        } catch {
            return .failure(ConfigErrors(YAMLSyntax.errors(for: error, in: text, file: path)))
        }
        let log = ReadLog()
        let spec = SpecReader(log: log).read(Located(node: root, path: .root))
        guard log.entries.isEmpty else {
            return .failure(
                ConfigErrors(
                    log.entries.map {
                        ConfigError(file: path, line: $0.line, field: $0.path.description, message: $0.message)
                    }))
        }
        return .success(spec)
    }

    public static func parse(yaml: String, file: String) -> Result<SwitchyardConfig, ConfigErrors> {
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
        let spec = SpecReader(log: log).read(Located(node: root, path: .root))
        var errors = log.entries.map {
            ConfigError(file: file, line: $0.line, field: $0.path.description, message: $0.message)
        }
        switch ConfigValidation.validate(spec) {
        case .success(let config) where errors.isEmpty:
            return .success(config)
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
