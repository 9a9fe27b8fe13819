/// `discovery.k8s.io/v1` EndpointSlice: a Service's endpoints with their readiness. The agents read
/// them (ready → up; serving and terminating → draining; gone → removed).
public struct EndpointSlice: KubeResource, Hashable {
    public static let group = "discovery.k8s.io"
    public static let version = "v1"
    public static let kind = "EndpointSlice"
    public static let plural = "endpointslices"
    public static let namespaced = true

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    /// `IPv4`, `IPv6` or `FQDN`.
    public var addressType: String
    public var endpoints: [Endpoint]?
    public var ports: [EndpointPort]?

    public struct Endpoint: Codable, Sendable, Hashable {
        public var addresses: [String]
        public var conditions: Conditions?
        public var nodeName: String?
        public var targetRef: ObjectReference?

        public struct Conditions: Codable, Sendable, Hashable {
            public var ready: Bool?
            public var serving: Bool?
            public var terminating: Bool?
        }
    }

    public struct EndpointPort: Codable, Sendable, Hashable {
        public var name: String?
        public var `protocol`: String?
        public var port: Int32?
        public var appProtocol: String?
    }
}
