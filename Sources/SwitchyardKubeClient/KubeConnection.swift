import Foundation

/// Where the API server is and how to prove who we are: from the pod's service account
/// (`inCluster`) or from a kubeconfig file (`kubeconfig`). `resolve` picks as kubectl does.
public struct KubeConnection: Sendable {
    /// `https://host:port`, without a trailing slash.
    public var server: String
    /// PEM of the CA that signs the server's certificate; nil = the system's trust roots.
    public var certificateAuthorityPEM: [UInt8]?
    public var insecureSkipTLSVerify: Bool
    /// The name the server certificate must carry when it differs from the URL's host.
    public var tlsServerName: String?
    public var credentials: Credentials
    /// The namespace of the context, or the pod's own namespace in a cluster.
    public var namespace: String
    /// For logs and errors: which file or mechanism this came from.
    public var origin: String

    public enum Credentials: Sendable {
        case none
        case token(TokenSource)
        case clientCertificate(certificatePEM: [UInt8], keyPEM: [UInt8])
    }

    public init(
        server: String, certificateAuthorityPEM: [UInt8]?, insecureSkipTLSVerify: Bool = false,
        tlsServerName: String? = nil, credentials: Credentials, namespace: String, origin: String
    ) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.tlsServerName = tlsServerName
        self.credentials = credentials
        self.namespace = namespace
        self.origin = origin
    }

    /// The standard service-account mount.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// Inside a pod: `KUBERNETES_SERVICE_HOST`/`PORT`, the mounted CA and namespace, and the token
    /// re-read from its file on every request (the kubelet rotates it; a cached one expires).
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        directory: String = serviceAccountDirectory
    ) throws -> KubeConnection {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw KubeConfigError(
                "not in a cluster: KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set; pass --kubeconfig")
        }
        let tokenPath = "\(directory)/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubeConfigError("in-cluster: no service-account token at \(tokenPath)")
        }
        let ca = try readFile("\(directory)/ca.crt", what: "in-cluster CA bundle")
        let namespace =
            (try? String(contentsOfFile: "\(directory)/namespace", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "default"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return KubeConnection(
            server: "https://\(hostPart):\(port)", certificateAuthorityPEM: ca,
            credentials: .token(.file(tokenPath)), namespace: namespace.isEmpty ? "default" : namespace,
            origin: "in-cluster service account")
    }

    /// kubectl's order: an explicit path, then `$KUBECONFIG` (its first file), then in-cluster,
    /// then `~/.kube/config`.
    public static func resolve(
        kubeconfig: String?, context: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> KubeConnection {
        if let kubeconfig { return try Kubeconfig.load(path: kubeconfig).connection(context: context) }
        if let list = environment["KUBECONFIG"], let first = list.split(separator: ":").first {
            return try Kubeconfig.load(path: String(first)).connection(context: context)
        }
        if environment["KUBERNETES_SERVICE_HOST"] != nil { return try inCluster(environment: environment) }
        if let home = environment["HOME"], FileManager.default.fileExists(atPath: "\(home)/.kube/config") {
            return try Kubeconfig.load(path: "\(home)/.kube/config").connection(context: context)
        }
        throw KubeConfigError("no Kubernetes API configured: pass --kubeconfig, set KUBECONFIG, or run in a pod")
    }
}

/// A bearer token, fixed or read from a file each time it is needed.
public enum TokenSource: Sendable {
    case literal(String)
    case file(String)

    public func current() throws -> String {
        switch self {
        case .literal(let token): return token
        case .file(let path):
            let bytes = try readFile(path, what: "token file")
            return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}

/// A kubeconfig or in-cluster problem, said so an operator knows what to fix.
public struct KubeConfigError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

func readFile(_ path: String, what: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw KubeConfigError("cannot read the \(what) at \(path)")
    }
    return [UInt8](data)
}
