/// A Kubernetes API resource Switchyard reads or writes: a typed `Codable` subset of the real
/// object. Decoding ignores fields the type does not name (so a newer server's objects decode);
/// that is also why Switchyard never writes a whole object back — it patches the fields it owns.
public protocol KubeResource: Codable, Sendable {
    /// The API group; empty for the core group (`v1`).
    static var group: String { get }
    static var version: String { get }
    static var kind: String { get }
    /// The lower-case plural of the REST path (`services`, `addresspools`).
    static var plural: String { get }
    static var namespaced: Bool { get }
    var metadata: ObjectMeta { get set }
}

extension KubeResource {
    /// `v1` for the core group, `group/version` otherwise, as objects carry it.
    public static var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
}
