/// One backend of one service: what the agent allocates a datapath index for, probes, and
/// names in logs. The same address and port behind two services are two backends (two
/// indices, two health states), so the service is part of the key.
public struct BackendKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var service: ServiceKey
    public var backend: BackendIdentity

    public init(service: ServiceKey, backend: BackendIdentity) {
        self.service = service
        self.backend = backend
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.service, lhs.backend) < (rhs.service, rhs.backend)
    }

    /// `SERVICE BACKEND`, e.g. `10.200.0.10:80/tcp 10.1.0.1:80`: for logs, not for parsing.
    public var description: String { "\(service) \(backend)" }
}

extension Service {
    /// The keys of this service's backends, in config order.
    public var backendKeys: [BackendKey] { backends.map { BackendKey(service: key, backend: $0.identity) } }
}
