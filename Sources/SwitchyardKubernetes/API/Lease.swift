/// A `coordination.k8s.io/v1` Lease: the record leader election reads and writes. Times are
/// `metav1.MicroTime` text (`KubeTime.rfc3339Micro`).
public struct Lease: KubeResource, Hashable {
    public static let group = "coordination.k8s.io"
    public static let version = "v1"
    public static let kind = "Lease"
    public static let plural = "leases"
    public static let namespaced = true
    /// The Lease Switchyard's controllers compete for, in the controller's namespace.
    public static let controllerLeaseName = "switchyard-controller"

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: LeaseSpec

    public init(metadata: ObjectMeta, spec: LeaseSpec) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decode(ObjectMeta.self, forKey: .metadata)
        spec = try container.decodeIfPresent(LeaseSpec.self, forKey: .spec) ?? LeaseSpec()
    }
}

public struct LeaseSpec: Codable, Sendable, Hashable {
    public var holderIdentity: String?
    public var leaseDurationSeconds: Int32?
    public var acquireTime: String?
    public var renewTime: String?
    public var leaseTransitions: Int32?

    public init(
        holderIdentity: String? = nil, leaseDurationSeconds: Int32? = nil, acquireTime: String? = nil,
        renewTime: String? = nil, leaseTransitions: Int32? = nil
    ) {
        self.holderIdentity = holderIdentity
        self.leaseDurationSeconds = leaseDurationSeconds
        self.acquireTime = acquireTime
        self.renewTime = renewTime
        self.leaseTransitions = leaseTransitions
    }
}
