import SwitchyardCore
import Yams

/// Errors for text that is not YAML at all, in words an operator can act on.
enum YAMLSyntax {
    static let tabMessage = "tabs are not allowed for indentation in YAML; use spaces"

    static func errors(for error: any Error, in yaml: String, file: String) -> [ConfigError] {
        let yamlError = error as? YamlError
        let line = yamlError?.line ?? 1
        // libyaml's words for a tab ("found character that cannot start any token") do not say
        // what to change; a tab in the indentation up to where parsing failed is by far the usual
        // cause, so name it. (Tabs are legal inside block scalars: those after the error are not blamed.)
        let tabs = tabIndentedLines(yaml).filter { yamlError == nil || $0 <= line }
        if !tabs.isEmpty {
            return tabs.map { ConfigError(file: file, line: $0, field: "yaml", message: tabMessage) }
        }
        return [ConfigError(file: file, line: line, field: "yaml", message: yamlError?.problem ?? "\(error)")]
    }

    /// The 1-based numbers of lines whose indentation holds a tab.
    static func tabIndentedLines(_ yaml: String) -> [Int] {
        yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { index, line in
            line.prefix { $0 == " " || $0 == "\t" }.contains("\t") ? index + 1 : nil
        }
    }
}

extension YamlError {
    var line: Int {
        switch self {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        case .duplicatedKeysInMapping(_, let context): context.mark.line
        default: 1
        }
    }

    var problem: String {
        switch self {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
            .composer(let context, let problem, _, _):
            [context?.text, problem].compactMap { $0 }.joined(separator: ": ")
        case .duplicatedKeysInMapping(let duplicates, _):
            "duplicate key " + duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ") + " in this mapping"
        default: "\(self)"
        }
    }
}
