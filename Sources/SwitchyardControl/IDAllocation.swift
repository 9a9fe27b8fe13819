import SwitchyardABI
import SwitchyardCore

/// Stable datapath ids: a service keeps its id and a backend its index for as long as the config
/// keeps them, across reloads and agent restarts (the allocation is saved beside the pinned
/// maps). Flow entries name backends by index, so a renumbering would send live connections to
/// the wrong backend.
public struct IDAllocation: Sendable, Codable, Equatable {
    /// "VIP:port/proto" → service id.
    public private(set) var services: [String: UInt32] = [:]
    /// "VIP:port/proto|backend:port" → backend index.
    public private(set) var backends: [String: UInt32] = [:]

    public init() {}

    public static func serviceKey(_ key: ServiceKey) -> String { key.description }
    public static func backendKey(_ key: ServiceKey, _ identity: BackendIdentity) -> String { "\(key)|\(identity)" }

    public enum AllocationError: Error, CustomStringConvertible {
        case exhausted(String)
        public var description: String {
            switch self { case .exhausted(let what): "no free \(what) id left" }
        }
    }

    /// Keeps every id still in `config`, frees the rest, gives new ones the lowest free ids — but
    /// never an index freed by this same update: flow entries may still name it until the agent
    /// has purged them, and they must not reach the newcomer. Returns the freed backend indices.
    @discardableResult
    public mutating func update(for config: SwitchyardConfig) throws(AllocationError) -> Set<UInt32> {
        let wantServices = Set(config.services.map { Self.serviceKey($0.key) })
        let wantBackends = Set(config.services.flatMap { s in s.backends.map { Self.backendKey(s.key, $0.identity) } })
        services = services.filter { wantServices.contains($0.key) }
        let freed = Set(backends.filter { !wantBackends.contains($0.key) }.values)
        backends = backends.filter { wantBackends.contains($0.key) }
        var usedServices = Set(services.values), usedBackends = Set(backends.values).union(freed)
        var nextService: UInt32 = 0, nextBackend: UInt32 = 0
        for service in config.services {
            let key = Self.serviceKey(service.key)
            if services[key] == nil {
                while usedServices.contains(nextService) { nextService += 1 }
                guard nextService < SY_MAX_SERVICES else { throw .exhausted("service") }
                services[key] = nextService
                usedServices.insert(nextService)
            }
            for backend in service.backends {
                let bkey = Self.backendKey(service.key, backend.identity)
                if backends[bkey] == nil {
                    while usedBackends.contains(nextBackend) { nextBackend += 1 }
                    guard nextBackend < SY_MAX_BACKENDS else { throw .exhausted("backend") }
                    backends[bkey] = nextBackend
                    usedBackends.insert(nextBackend)
                }
            }
        }
        return freed
    }

    public func serviceID(_ key: ServiceKey) -> UInt32 { services[Self.serviceKey(key)]! }
    public func backendIndex(_ key: ServiceKey, _ identity: BackendIdentity) -> UInt32 { backends[Self.backendKey(key, identity)]! }
}
