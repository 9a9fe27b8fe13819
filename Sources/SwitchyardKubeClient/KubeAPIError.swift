import SwitchyardKubernetes

/// A request the API server refused, with its `Status` when it sent one.
public struct KubeAPIError: Error, CustomStringConvertible {
    public var code: Int
    public var status: KubeStatus?
    /// `GET /api/v1/namespaces/x/services/y`, for the message.
    public var request: String

    public init(code: Int, status: KubeStatus?, request: String) {
        self.code = code
        self.status = status
        self.request = request
    }

    /// 409 with reason Conflict: the object changed since it was read; re-read and decide again.
    public var isConflict: Bool { code == 409 && status?.reason != "AlreadyExists" }
    public var isAlreadyExists: Bool { code == 409 && status?.reason == "AlreadyExists" }
    public var isNotFound: Bool { code == 404 }
    /// 410: the resourceVersion is older than the server keeps; list again.
    public var isGone: Bool { code == 410 }

    public var description: String {
        let reason = status?.reason.map { " \($0)" } ?? ""
        let message = status?.message.map { ": \($0)" } ?? ""
        return "\(request) → \(code)\(reason)\(message)"
    }
}

/// The connection failed or the answer made no sense (not a refusal by the server).
public struct KubeTransportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
