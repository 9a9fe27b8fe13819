import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import SwitchyardCore
import SwitchyardKubernetes

/// A small Kubernetes API client over AsyncHTTPClient: typed get/list/create/patch/delete and a
/// watch that hands each event to the caller as it arrives. Written here because no Swift
/// Kubernetes client is available on these machines; it covers what Switchyard needs, no more.
public final class KubeClient: Sendable {
    public let connection: KubeConnection
    private let http: HTTPClient
    /// Per request (not for watches, whose deadline is their own timeout plus a margin).
    public let requestTimeout: TimeAmount

    public init(connection: KubeConnection, requestTimeout: TimeAmount = .seconds(30)) throws {
        self.connection = connection
        self.requestTimeout = requestTimeout
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = connection.certificateAuthorityPEM {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            } catch {
                throw KubeConfigError("\(connection.origin): the CA is not PEM certificates: \(error)")
            }
        }
        if connection.insecureSkipTLSVerify { tls.certificateVerification = .none }
        if case .clientCertificate(let certificate, let key) = connection.credentials {
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            } catch {
                throw KubeConfigError("\(connection.origin): the client certificate or key does not load: \(error)")
            }
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: nil)
        configuration.decompression = .disabled
        configuration.httpVersion = .http1Only
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async throws { try await http.shutdown() }

    // MARK: Paths

    /// `/api/v1/namespaces/ns/services/name/status` and its kin.
    public static func path<R: KubeResource>(
        _: R.Type, namespace: String?, name: String? = nil, subresource: String? = nil
    ) -> String {
        var path = R.group.isEmpty ? "/api/\(R.version)" : "/apis/\(R.group)/\(R.version)"
        if R.namespaced, let namespace { path += "/namespaces/\(escape(namespace))" }
        path += "/\(R.plural)"
        if let name { path += "/\(escape(name))" }
        if let subresource { path += "/\(subresource)" }
        return path
    }

    private static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? segment
    }

    private static func query(_ items: [(String, String?)]) -> String {
        let parts = items.compactMap { key, value -> String? in
            guard let value else { return nil }
            let escaped = value.addingPercentEncoding(
                withAllowedCharacters: .urlQueryAllowed.subtracting(["&", "=", "+"]))
            return "\(key)=\(escaped ?? value)"
        }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }

    // MARK: Verbs

    public func get<R: KubeResource>(_ type: R.Type, namespace: String?, name: String) async throws -> R {
        try await send(.GET, Self.path(type, namespace: namespace, name: name), as: R.self)
    }

    /// All objects (of one namespace, or of all when `namespace` is nil) and the list's
    /// resourceVersion to watch from.
    public func list<R: KubeResource>(
        _ type: R.Type, namespace: String? = nil, labelSelector: String? = nil
    ) async throws -> KubeList<R> {
        let path = Self.path(type, namespace: namespace) + Self.query([("labelSelector", labelSelector)])
        return try await send(.GET, path, as: KubeList<R>.self)
    }

    public func create<R: KubeResource>(_ object: R, namespace: String?) async throws -> R {
        let body = try JSONEncoder().encode(object)
        return try await send(.POST, Self.path(R.self, namespace: namespace), body: body, as: R.self)
    }

    public enum PatchType: String, Sendable {
        case merge = "application/merge-patch+json"
        case json = "application/json-patch+json"
    }

    /// A patch of the object or of a subresource (`status`). A merge patch carrying
    /// `metadata.resourceVersion` is a precondition: 409 when the object changed meanwhile.
    public func patch<R: KubeResource>(
        _ type: R.Type, namespace: String?, name: String, subresource: String? = nil,
        type patchType: PatchType = .merge,
        body: Data
    ) async throws -> R {
        try await send(
            .PATCH, Self.path(type, namespace: namespace, name: name, subresource: subresource), body: body,
            contentType: patchType.rawValue, as: R.self)
    }

    /// PUT: replaces the object; its `metadata.resourceVersion` must be current (409 otherwise).
    public func update<R: KubeResource>(_ object: R, subresource: String? = nil) async throws -> R {
        let body = try JSONEncoder().encode(object)
        let path = Self.path(
            R.self, namespace: object.metadata.namespace, name: object.metadata.name ?? "",
            subresource: subresource)
        return try await send(.PUT, path, body: body, as: R.self)
    }

    public func delete<R: KubeResource>(_ type: R.Type, namespace: String?, name: String) async throws {
        _ = try await sendRaw(.DELETE, Self.path(type, namespace: namespace, name: name), body: nil, contentType: nil)
    }

    /// Watches from `resourceVersion`, calling `onEvent` for each event in order. Returns when the
    /// server ends the stream (its `timeoutSeconds`), throws on a refusal (410 as `KubeAPIError`)
    /// or a broken connection. An ERROR event is handed to `onEvent`; the caller decides.
    public func watch<R: KubeResource>(
        _ type: R.Type, namespace: String? = nil, resourceVersion: String?, timeoutSeconds: Int = 300,
        labelSelector: String? = nil, onEvent: (WatchEvent<R>) async throws -> Void
    ) async throws {
        let path =
            Self.path(type, namespace: namespace)
            + Self.query([
                ("watch", "1"), ("allowWatchBookmarks", "true"), ("resourceVersion", resourceVersion),
                ("timeoutSeconds", String(timeoutSeconds)), ("labelSelector", labelSelector),
            ])
        let request = try makeRequest(.GET, path, body: nil, contentType: nil)
        let response = try await execute(request, path: path, deadline: .now() + .seconds(Int64(timeoutSeconds) + 30))
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: 1 << 20)
            throw apiError(response.status, body: body, request: "GET \(path)")
        }
        var splitter = WatchLineSplitter()
        let decoder = JSONDecoder()
        do {
            for try await piece in response.body {
                for line in try splitter.append(piece.readableBytesView) {
                    try await onEvent(try WatchEvent<R>.decode(line: line, decoder: decoder))
                }
            }
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            return // the server did not end it on time; the caller watches again from where it got
        }
        if let last = splitter.finish() { try await onEvent(try WatchEvent<R>.decode(line: last, decoder: decoder)) }
    }

    // MARK: Plumbing

    private func send<T: Decodable>(
        _ method: HTTPMethod, _ path: String, body: Data? = nil, contentType: String? = "application/json", as _: T.Type
    ) async throws -> T {
        let bytes = try await sendRaw(method, path, body: body, contentType: body == nil ? nil : contentType)
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes.readableBytesView))
        } catch {
            throw KubeTransportError("\(method) \(path): the answer does not decode as \(T.self): \(error)")
        }
    }

    private func sendRaw(_ method: HTTPMethod, _ path: String, body: Data?, contentType: String?) async throws
        -> ByteBuffer
    {
        let request = try makeRequest(method, path, body: body, contentType: contentType)
        let response = try await execute(request, path: path, deadline: .now() + requestTimeout)
        let bytes = try await response.body.collect(upTo: 256 << 20)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw apiError(response.status, body: bytes, request: "\(method) \(path)")
        }
        return bytes
    }

    private func execute(_ request: HTTPClientRequest, path: String, deadline: NIODeadline) async throws
        -> HTTPClientResponse
    {
        do {
            return try await http.execute(request, deadline: deadline)
        } catch let error as HTTPClientError {
            throw KubeTransportError("\(request.method) \(path) to \(connection.server): \(error)")
        }
    }

    private func makeRequest(_ method: HTTPMethod, _ path: String, body: Data?, contentType: String?) throws
        -> HTTPClientRequest
    {
        var request = HTTPClientRequest(url: connection.server + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "switchyard/\(SwitchyardVersion.current)")
        if case .token(let source) = connection.credentials {
            request.headers.add(name: "Authorization", value: "Bearer \(try source.current())")
        }
        if let body {
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    private func apiError(_ status: HTTPResponseStatus, body: ByteBuffer, request: String) -> KubeAPIError {
        let decoded = try? JSONDecoder().decode(KubeStatus.self, from: Data(body.readableBytesView))
        return KubeAPIError(code: Int(status.code), status: decoded, request: request)
    }
}
