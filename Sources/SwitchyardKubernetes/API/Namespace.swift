/// A core `v1` Namespace: only its labels matter here (`namespaceSelectors` of a pool).
public struct Namespace: KubeResource, Hashable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "Namespace"
    public static let plural = "namespaces"
    public static let namespaced = false

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta

    public init(metadata: ObjectMeta) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
    }
}
