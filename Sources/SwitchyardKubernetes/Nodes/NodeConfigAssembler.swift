import SwitchyardCore

/// The LB node's desired config in Kubernetes mode: the node's own settings (from its file) plus every
/// translated Service, validated by the same rules as a YAML `services` list.
public struct NodeConfigAssembly: Sendable, Hashable {
    /// Nil when the node's own settings are unusable (`nodeProblems` says why).
    public var config: SwitchyardConfig?
    public var nodeProblems: [String]
    /// Services left out entirely, each with every reason (a clash names the older Service it lost to).
    public var skipped: [NamespacedName: [String]]
    /// Services used, with what of them could not be (a SCTP port, a bad annotation).
    public var warnings: [NamespacedName: [String]]
}

/// One bad Service never costs the others: each is checked alone, and a clash between Services (two of them
/// on one address and port) leaves the newer one out, as the allocator would have refused it.
public enum NodeConfigAssembler {
    public static func assemble(node: ConfigSpec, services: [TranslatedService]) -> NodeConfigAssembly {
        var result = NodeConfigAssembly(config: nil, nodeProblems: [], skipped: [:], warnings: [:])
        var base = node
        base.services = []
        switch ConfigValidation.validate(base) {
        case .failure(let problems):
            result.nodeProblems = problems.problems.map(\.description)
            return result
        case .success(let config):
            result.config = config
        }
        var accepted: [TranslatedService] = []
        for service in services {
            if !service.problems.isEmpty { result.warnings[service.key] = service.problems }
            guard !service.specs.isEmpty else {
                result.skipped[service.key] = service.problems + ["no port to carry"]
                continue
            }
            var alone = base
            alone.services = service.specs
            if case .failure(let problems) = ConfigValidation.validate(alone) {
                result.skipped[service.key] = service.problems + problems.problems.map { describe($0, in: service) }
                continue
            }
            accepted.append(service)
        }
        var all = base
        all.services = accepted.flatMap(\.specs)
        if case .success(let config) = ConfigValidation.validate(all) {
            result.config = config
            return result
        }
        // A clash between Services: add them oldest first, leaving out each one that breaks the set.
        var kept: [TranslatedService] = []
        var config = result.config
        for service in accepted {
            var trial = base
            trial.services = (kept + [service]).flatMap(\.specs)
            switch ConfigValidation.validate(trial) {
            case .success(let fits):
                kept.append(service)
                config = fits
            case .failure(let problems):
                let offset = kept.reduce(0) { $0 + $1.specs.count }
                let mine = problems.problems.filter { index(of: $0.path).map { $0 >= offset } ?? true }
                result.skipped[service.key] =
                    service.problems
                    + (mine.isEmpty ? problems.problems : mine).map { problem in
                        var shifted = problem
                        if let at = index(of: problem.path), at >= offset {
                            shifted.path = FieldPath(
                                [.key("services"), .index(at - offset)] + problem.path.components.dropFirst(2))
                        }
                        return describe(shifted, in: service, clashWith: kept)
                    }
            }
        }
        result.config = config
        return result
    }

    /// `services[i]...` of a Service's own specs → the spec's name and the field.
    static func describe(_ problem: ConfigProblem, in service: TranslatedService, clashWith: [TranslatedService] = [])
        -> String
    {
        var text = problem.description
        if let at = index(of: problem.path), at < service.specs.count, let name = service.specs[at].name {
            text = "\(name): \(problem.message)"
        }
        if !clashWith.isEmpty, problem.message.contains("duplicate") {
            text += " (an older Service holds it)"
        }
        return text
    }

    /// The index into `services` a path points at, if it does.
    static func index(of path: FieldPath) -> Int? {
        guard path.components.count >= 2, path.components[0] == .key("services"),
            case .index(let at) = path.components[1]
        else { return nil }
        return at
    }
}
