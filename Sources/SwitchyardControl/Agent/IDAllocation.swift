import SwitchyardABI
import SwitchyardCore

/// Stable datapath ids: a service keeps its id and a backend its index for as long as the config
/// keeps them, across reloads and agent restarts (the allocation is saved beside the pinned
/// maps). Flow entries name backends by index, so a renumbering would send live connections to
/// the wrong backend.
///
/// A backend index that leaves the config is *retired*, not free: flow entries may still name it
/// until the agent has purged them, and they must not reach a newcomer. `purged(_:)` frees it.
/// The retired set is saved with the rest, so an agent that dies between a reload and its purge
/// does not hand the index out again after a restart.
public struct IDAllocation: Sendable, Equatable {
    public private(set) var services: [ServiceKey: UInt32] = [:]
    public private(set) var backends: [BackendKey: UInt32] = [:]
    /// Indices whose flows may still be in the flow table.
    public private(set) var retired: Set<UInt32> = []

    public init() {}

    public enum AllocationError: Error, Equatable, CustomStringConvertible {
        case exhausted(String)
        public var description: String {
            switch self {
            case .exhausted(let what): "no free \(what) id left"
            }
        }
    }

    /// Keeps every id still in `config`, retires the rest, gives new ones the lowest ids that
    /// are neither used nor retired. Returns the backend indices this update retired. On error
    /// the allocation is unchanged.
    @discardableResult
    public mutating func update(for config: SwitchyardConfig) throws(AllocationError) -> Set<UInt32> {
        var next = self
        let retiring = try next.apply(config)
        self = next
        return retiring
    }

    private mutating func apply(_ config: SwitchyardConfig) throws(AllocationError) -> Set<UInt32> {
        let wantServices = Set(config.services.map(\.key))
        let wantBackends = Set(config.services.flatMap(\.backendKeys))
        services = services.filter { wantServices.contains($0.key) }
        let retiring = Set(backends.filter { !wantBackends.contains($0.key) }.values)
        backends = backends.filter { wantBackends.contains($0.key) }
        retired.formUnion(retiring)
        var usedServices = Set(services.values)
        var usedBackends = Set(backends.values).union(retired)
        var nextService: UInt32 = 0
        var nextBackend: UInt32 = 0
        for service in config.services {
            if services[service.key] == nil {
                while usedServices.contains(nextService) { nextService += 1 }
                guard nextService < SY_MAX_SERVICES else { throw .exhausted("service") }
                services[service.key] = nextService
                usedServices.insert(nextService)
            }
            for key in service.backendKeys where backends[key] == nil {
                while usedBackends.contains(nextBackend) { nextBackend += 1 }
                guard nextBackend < SY_MAX_BACKENDS else { throw .exhausted("backend") }
                backends[key] = nextBackend
                usedBackends.insert(nextBackend)
            }
        }
        return retiring
    }

    /// The flows naming these retired indices are gone: the indices may be reused.
    public mutating func purged(_ indices: Set<UInt32>) {
        retired.subtract(indices)
    }

    /// Ids of what `update(for:)` allocated; nil for anything not in the config it saw.
    public func serviceID(_ key: ServiceKey) -> UInt32? { services[key] }
    public func backendIndex(_ key: BackendKey) -> UInt32? { backends[key] }
}

/// Saved as JSON, in the text forms agents have always written (`"10.200.0.10:80/tcp"` and
/// `"10.200.0.10:80/tcp|10.1.0.1:80"`), so an upgraded agent keeps the indices of the live maps
/// an older one left. Entries that do not parse are skipped: they name nothing in any config.
extension IDAllocation: Codable {
    private enum CodingKeys: String, CodingKey {
        case services, backends, retired
    }

    private static let separator: Character = "|"

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        for (text, id) in try c.decode([String: UInt32].self, forKey: .services) {
            if let key = ServiceKey(text) { services[key] = id }
        }
        for (text, index) in try c.decode([String: UInt32].self, forKey: .backends) {
            guard let bar = text.firstIndex(of: Self.separator), let service = ServiceKey(text[..<bar]),
                let backend = BackendIdentity(text[text.index(after: bar)...])
            else { continue }
            backends[BackendKey(service: service, backend: backend)] = index
        }
        retired = try c.decodeIfPresent(Set<UInt32>.self, forKey: .retired) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(
            Dictionary(uniqueKeysWithValues: services.map { ($0.key.description, $0.value) }), forKey: .services)
        let backendTexts = backends.map { ("\($0.key.service)\(Self.separator)\($0.key.backend)", $0.value) }
        try c.encode(Dictionary(uniqueKeysWithValues: backendTexts), forKey: .backends)
        try c.encode(retired.sorted(), forKey: .retired)
    }
}
