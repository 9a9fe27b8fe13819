/// `metav1.Status`: what the server answers instead of an object when a request fails, and what a
/// watch's ERROR event carries (410 Expired, most often).
public struct KubeStatus: Codable, Sendable, Hashable {
    public var status: String?
    public var message: String?
    /// A machine-readable word: `Conflict`, `NotFound`, `AlreadyExists`, `Invalid`, `Expired`, `Gone`.
    public var reason: String?
    public var code: Int?

    public init(status: String? = nil, message: String? = nil, reason: String? = nil, code: Int? = nil) {
        self.status = status
        self.message = message
        self.reason = reason
        self.code = code
    }
}
