/// A core `v1` Event: what `kubectl describe` shows under an object. Switchyard emits one for every
/// change of a Service's address so an operator can read why without its logs.
public struct Event: KubeResource, Hashable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "Event"
    public static let plural = "events"
    public static let namespaced = true

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var involvedObject: ObjectReference
    public var reason: String?
    public var message: String?
    /// `Normal` or `Warning`.
    public var type: String?
    public var source: EventSource?
    public var firstTimestamp: String?
    public var lastTimestamp: String?
    public var count: Int32?
    public var reportingComponent: String?
    public var reportingInstance: String?

    public init(
        metadata: ObjectMeta, involvedObject: ObjectReference, reason: String, message: String, type: String,
        component: String, instance: String, time: String
    ) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.involvedObject = involvedObject
        self.reason = reason
        self.message = message
        self.type = type
        self.source = EventSource(component: component, host: nil)
        self.firstTimestamp = time
        self.lastTimestamp = time
        self.count = 1
        self.reportingComponent = component
        self.reportingInstance = instance
    }
}

/// `v1.ObjectReference`: the object an Event is about.
public struct ObjectReference: Codable, Sendable, Hashable {
    public var apiVersion: String?
    public var kind: String?
    public var namespace: String?
    public var name: String?
    public var uid: String?
    public var resourceVersion: String?

    public init(
        apiVersion: String?, kind: String?, namespace: String?, name: String?, uid: String?,
        resourceVersion: String? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.resourceVersion = resourceVersion
    }
}

/// `v1.EventSource`.
public struct EventSource: Codable, Sendable, Hashable {
    public var component: String?
    public var host: String?
}
