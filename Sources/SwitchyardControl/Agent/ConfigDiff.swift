import SwitchyardCore

/// What a reload changes, as log lines an operator can follow: services and backends added,
/// removed, re-weighted or re-stated.
enum ConfigDiff {
    static func logRecords(from old: SwitchyardConfig, to new: SwitchyardConfig) -> [AgentAction] {
        let before = Dictionary(old.services.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(new.services.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let node = new.node.name
        var records: [AgentLogRecord] = []
        for service in new.services where before[service.key] == nil {
            records.append(
                .init(.info, "service added", ["service": service.name, "vip": "\(service.key)", "node": node]))
        }
        for service in old.services where after[service.key] == nil {
            records.append(
                .init(.info, "service removed", ["service": service.name, "vip": "\(service.key)", "node": node]))
        }
        for service in new.services {
            guard let previous = before[service.key] else { continue }
            let was = Dictionary(previous.backends.map { ($0.identity, $0) }, uniquingKeysWith: { a, _ in a })
            for backend in service.backends {
                let fields = ["service": service.name, "backend": "\(backend.identity)", "node": node]
                guard let w = was[backend.identity] else {
                    records.append(.init(.info, "backend added", fields))
                    continue
                }
                if w.state != backend.state || w.weight != backend.weight {
                    records.append(
                        .init(
                            .info, "backend changed",
                            fields.merging([
                                "old": "\(w.state)/\(w.weight)", "new": "\(backend.state)/\(backend.weight)",
                                "reason": "config",
                            ]) { a, _ in a }))
                }
            }
            let now = Set(service.backends.map(\.identity))
            for backend in previous.backends where !now.contains(backend.identity) {
                records.append(
                    .init(
                        .info, "backend removed",
                        ["service": service.name, "backend": "\(backend.identity)", "node": node]))
            }
        }
        return records.map { .log($0) }
    }
}
