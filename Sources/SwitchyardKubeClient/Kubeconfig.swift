import Foundation
import Yams

/// The fields of a kubeconfig file Switchyard honours: clusters (server, CA file or data,
/// insecure-skip-tls-verify, tls-server-name), users (token, tokenFile, client certificate and key
/// as files or data), contexts (cluster, user, namespace) and current-context. Relative paths are
/// relative to the file, as kubectl resolves them. `exec` and `auth-provider` plugins are refused
/// with a clear error rather than silently ignored.
public struct Kubeconfig: Decodable, Sendable {
    public var clusters: [Named<Cluster>]?
    public var users: [Named<User>]?
    public var contexts: [Named<Context>]?
    public var currentContext: String?
    /// The directory relative paths are resolved against.
    public var directory = "."
    public var path = "<memory>"

    public struct Named<T: Decodable & Sendable>: Decodable, Sendable {
        public var name: String
        public var value: T?

        private enum CodingKeys: String, CodingKey { case name, cluster, user, context }
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            value = nil
            for key in [CodingKeys.cluster, .user, .context] where container.contains(key) {
                value = try container.decode(T.self, forKey: key)
            }
        }
    }

    public struct Cluster: Decodable, Sendable {
        public var server: String?
        public var certificateAuthority: String?
        public var certificateAuthorityData: String?
        public var insecureSkipTLSVerify: Bool?
        public var tlsServerName: String?

        private enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
            case tlsServerName = "tls-server-name"
        }
    }

    public struct User: Decodable, Sendable {
        public var token: String?
        public var tokenFile: String?
        public var clientCertificate: String?
        public var clientCertificateData: String?
        public var clientKey: String?
        public var clientKeyData: String?
        public var hasExec: Bool
        public var hasAuthProvider: Bool

        private enum CodingKeys: String, CodingKey {
            case token, tokenFile, exec
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
            case authProvider = "auth-provider"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            token = try c.decodeIfPresent(String.self, forKey: .token)
            tokenFile = try c.decodeIfPresent(String.self, forKey: .tokenFile)
            clientCertificate = try c.decodeIfPresent(String.self, forKey: .clientCertificate)
            clientCertificateData = try c.decodeIfPresent(String.self, forKey: .clientCertificateData)
            clientKey = try c.decodeIfPresent(String.self, forKey: .clientKey)
            clientKeyData = try c.decodeIfPresent(String.self, forKey: .clientKeyData)
            hasExec = c.contains(.exec)
            hasAuthProvider = c.contains(.authProvider)
        }
    }

    public struct Context: Decodable, Sendable {
        public var cluster: String?
        public var user: String?
        public var namespace: String?
    }

    private enum CodingKeys: String, CodingKey {
        case clusters, users, contexts
        case currentContext = "current-context"
    }

    public static func load(path: String) throws -> Kubeconfig {
        let bytes = try readFile(path, what: "kubeconfig")
        var config = try parse(String(decoding: bytes, as: UTF8.self), path: path)
        config.directory = (path as NSString).deletingLastPathComponent
        if config.directory.isEmpty { config.directory = "." }
        return config
    }

    public static func parse(_ text: String, path: String = "<memory>") throws -> Kubeconfig {
        do {
            var config = try YAMLDecoder().decode(Kubeconfig.self, from: text)
            config.path = path
            return config
        } catch let error as KubeConfigError {
            throw error
        } catch {
            throw KubeConfigError("kubeconfig \(path) does not parse: \(error)")
        }
    }

    /// The connection of `context` (or the current context).
    public func connection(context wanted: String? = nil) throws -> KubeConnection {
        guard let name = wanted ?? currentContext, !name.isEmpty else {
            throw KubeConfigError("kubeconfig \(path) has no current-context; pass --context")
        }
        guard let context = contexts?.first(where: { $0.name == name })?.value else {
            throw KubeConfigError("kubeconfig \(path): no context named \(name.debugDescription)")
        }
        guard let clusterName = context.cluster,
            let cluster = clusters?.first(where: { $0.name == clusterName })?.value
        else {
            throw KubeConfigError(
                "kubeconfig \(path): context \(name) names cluster \((context.cluster ?? "").debugDescription), "
                    + "which is not defined")
        }
        guard let server = cluster.server, server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw KubeConfigError("kubeconfig \(path): cluster \(clusterName) has no http(s) server URL")
        }
        let ca = try material(data: cluster.certificateAuthorityData, file: cluster.certificateAuthority, "CA")
        var credentials = KubeConnection.Credentials.none
        if let userName = context.user {
            guard let user = users?.first(where: { $0.name == userName })?.value else {
                throw KubeConfigError(
                    "kubeconfig \(path): context \(name) names user \(userName), which is not defined")
            }
            credentials = try self.credentials(user, name: userName)
        }
        return KubeConnection(
            server: server, certificateAuthorityPEM: ca, insecureSkipTLSVerify: cluster.insecureSkipTLSVerify ?? false,
            tlsServerName: cluster.tlsServerName, credentials: credentials, namespace: context.namespace ?? "default",
            origin: "kubeconfig \(path), context \(name)")
    }

    private func credentials(_ user: User, name: String) throws -> KubeConnection.Credentials {
        if let certificate = try material(data: user.clientCertificateData, file: user.clientCertificate, "cert") {
            guard let key = try material(data: user.clientKeyData, file: user.clientKey, "key") else {
                throw KubeConfigError("kubeconfig \(path): user \(name) has a client certificate but no client key")
            }
            return .clientCertificate(certificatePEM: certificate, keyPEM: key)
        }
        if let token = user.token, !token.isEmpty { return .token(.literal(token)) }
        if let file = user.tokenFile { return .token(.file(resolved(file))) }
        if user.hasExec || user.hasAuthProvider {
            throw KubeConfigError(
                "kubeconfig \(path): user \(name) authenticates through an exec or auth-provider plugin, "
                    + "which Switchyard does not run; give it a token, tokenFile or client certificate")
        }
        return .none
    }

    private func material(data: String?, file: String?, _ what: String) throws -> [UInt8]? {
        if let data, !data.isEmpty {
            guard let decoded = Data(base64Encoded: data, options: .ignoreUnknownCharacters) else {
                throw KubeConfigError("kubeconfig \(path): the \(what) data is not base64")
            }
            return [UInt8](decoded)
        }
        if let file, !file.isEmpty { return try readFile(resolved(file), what: "\(what) file named by \(path)") }
        return nil
    }

    private func resolved(_ file: String) -> String { file.hasPrefix("/") ? file : "\(directory)/\(file)" }
}
