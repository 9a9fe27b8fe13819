/// A backend's administrative state, as the operator or the health checker sets it.
public enum BackendState: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Takes new flows (if its weight is above zero) and keeps its existing ones.
    case up
    /// Keeps its existing flows, takes no new ones: the way to empty a backend gracefully.
    case draining
    /// Takes nothing: flows pointing at it are re-picked from the ring.
    case down

    public var description: String { rawValue }
}

/// One backend of one service.
public struct Backend: Sendable, Hashable {
    public var address: IPAddress
    /// The port the backend serves on. With DSR the backend answers from the VIP and port, so
    /// this is the port health checks use; it defaults to the service port.
    public var port: UInt16
    /// Relative share of new flows, 0…65535. Weight 0 behaves like `draining`.
    public var weight: UInt16
    public var state: BackendState

    public init(address: IPAddress, port: UInt16, weight: UInt16 = 1, state: BackendState = .up) {
        self.address = address
        self.port = port
        self.weight = weight
        self.state = state
    }

    public var identity: BackendIdentity { BackendIdentity(address: address, port: port) }

    /// Whether the backend belongs in the Maglev ring, i.e. may receive new flows.
    public var takesNewFlows: Bool { state == .up && weight > 0 }
}
