import SwitchyardKubernetes

/// What `switchyard controller` is told on its command line.
public struct ControllerOptions: Sendable {
    /// Where the Lease lives (the controller's own namespace).
    public var namespace: String
    public var leaseName: String
    /// Unique per instance: the pod name in a cluster, host and pid elsewhere.
    public var identity: String
    public var allocator: AllocatorConfiguration
    public var leaseDuration: Duration
    public var renewDeadline: Duration
    public var retryPeriod: Duration
    /// Seconds the server keeps each watch open before the reflector watches again.
    public var watchTimeout: Int
    /// Status writes in flight at once (each is one PATCH).
    public var maxWritesInFlight: Int
    /// The component name Events carry.
    public static let component = "switchyard-controller"

    public init(
        namespace: String = "switchyard-system", leaseName: String = Lease.controllerLeaseName, identity: String,
        allocator: AllocatorConfiguration = AllocatorConfiguration(), leaseDuration: Duration = .seconds(15),
        renewDeadline: Duration = .seconds(10), retryPeriod: Duration = .seconds(2), watchTimeout: Int = 300,
        maxWritesInFlight: Int = 16
    ) {
        self.namespace = namespace
        self.leaseName = leaseName
        self.identity = identity
        self.allocator = allocator
        self.leaseDuration = leaseDuration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
        self.watchTimeout = watchTimeout
        self.maxWritesInFlight = maxWritesInFlight
    }
}

/// Why `run` ended other than by cancellation.
public enum ControllerExit: Error, CustomStringConvertible {
    case lostLeadership(String)

    public var description: String {
        switch self {
        case .lostLeadership(let reason): return "lost the lease: \(reason); exiting so a fresh instance competes"
        }
    }
}
