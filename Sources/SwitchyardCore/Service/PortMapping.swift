/// One Service port a pod answers on a different port: packets to (vip, servicePort, proto) reach the pod
/// on targetPort, and the pod's replies from targetPort leave from servicePort. Kubernetes lets a Service's
/// `port` and its endpoints' `targetPort` differ; with DSR no proxy translates, so the pod's decap and egress
/// programs do (the endpoint agent decides the mappings, `DecapDatapath` writes them).
public struct PortMapping: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var vip: IPAddress
    public var proto: L4Protocol
    public var servicePort: UInt16
    public var targetPort: UInt16

    public init(vip: IPAddress, proto: L4Protocol, servicePort: UInt16, targetPort: UInt16) {
        self.vip = vip
        self.proto = proto
        self.servicePort = servicePort
        self.targetPort = targetPort
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.vip, lhs.proto.rawValue, lhs.servicePort, lhs.targetPort)
            < (rhs.vip, rhs.proto.rawValue, rhs.servicePort, rhs.targetPort)
    }

    public var description: String {
        "\(proto) \(vip.family == .v6 ? "[\(vip)]" : "\(vip)"):\(servicePort)→\(targetPort)"
    }
}
