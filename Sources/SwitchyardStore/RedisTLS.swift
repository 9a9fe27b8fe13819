import Glibc
import NIOCore
import NIOSSL
import NIOTLS
import SwitchyardCore
import SwitchyardNet
import Synchronization

/// TLS for every connection to a store's servers: the PEM files are read once, when the store is
/// made (a wrong path fails the agent's start, not each reconnect), into one `NIOSSLContext`.
/// Verification is full: the chain must end at one of `caFile`'s authorities and the certificate
/// must name the server — `serverName` if set, else the host connected to — or carry an IP
/// subject alternative name equal to the address connected to (NIOSSL accepts either, RFC 6125).
public final class RedisTLS: Sendable, Hashable {
    /// What it was made from: two values made from the same settings are the same TLS.
    public let settings: FlowStoreTLS
    let context: NIOSSLContext

    public init(_ settings: FlowStoreTLS) throws(RedisTLSError) {
        self.settings = settings
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        let authorities = try Self.certificates(settings.caFile, role: "caFile")
        configuration.trustRoots = .certificates(authorities)
        switch (settings.certificateFile, settings.keyFile) {
        case (nil, nil): break
        case (let certificate?, let key?):
            configuration.certificateChain = try Self.certificates(certificate, role: "certificateFile")
                .map { .certificate($0) }
            configuration.privateKey = .privateKey(try Self.privateKey(key))
        case (let certificate?, nil):
            throw .unusable(
                file: certificate, role: "certificateFile", reason: "keyFile is not set; set both or neither")
        case (nil, let key?):
            throw .unusable(file: key, role: "keyFile", reason: "certificateFile is not set; set both or neither")
        }
        do { context = try NIOSSLContext(configuration: configuration) } catch {
            throw .unusable(
                file: settings.certificateFile ?? settings.caFile, role: "certificateFile",
                reason: "the certificate and key do not make a TLS client (\(error))")
        }
    }

    public static func == (a: RedisTLS, b: RedisTLS) -> Bool { a.settings == b.settings }
    public func hash(into hasher: inout Hasher) { hasher.combine(settings) }

    /// The handlers a connection to `address` needs, added before the channel is wrapped: TLS,
    /// then the namer that turns TLS failures into `RedisTLSError` and reports the handshake.
    func configure(_ channel: any Channel, for address: HostPort, handshake: EventLoopPromise<Void>) throws {
        let name = settings.serverName ?? address.host.description
        // An IP address is never sent as SNI (RFC 6066 §3); NIOSSL then matches the
        // certificate's IP subject alternative names against the address connected to.
        let sni = Self.isIPAddress(name) ? nil : name
        let handler = try NIOSSLClientHandler(context: context, serverHostname: sni)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.pipeline.syncOperations.addHandler(
            RedisTLSErrorNamer(address: address, serverName: name, handshake: handshake))
    }

    /// Opens a connection to `address` and waits for the TLS handshake to finish.
    func connect(to address: HostPort, timeout: Duration) async throws -> ConnectionClient.Connection {
        let box = PromiseBox()
        let connection = try await ConnectionClient.connect(to: address, timeout: timeout) { channel in
            let handshake = channel.eventLoop.makePromise(of: Void.self)
            box.set(handshake.futureResult)
            try ConnectionClient.keepAlive(channel)
            try self.configure(channel, for: address, handshake: handshake)
        }
        do {
            guard let handshake = box.get() else { throw RedisClientError.connectionLost(address) }
            try await handshake.get()
            return connection
        } catch {
            // Through executeThenClose: a wrapped channel must finish its writer before it goes.
            try? await connection.executeThenClose { _, _ in }
            throw error
        }
    }

    private static func read(_ file: String, role: String) throws(RedisTLSError) -> [UInt8] {
        guard let handle = fopen(file, "rb") else {
            throw .unusable(file: file, role: role, reason: "cannot be read: \(String(cString: strerror(errno)))")
        }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = fread(&chunk, 1, chunk.count, handle)
            if count <= 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > Self.maxPEMBytes {
                throw .unusable(
                    file: file, role: role, reason: "is larger than \(Self.maxPEMBytes) bytes: not a PEM file")
            }
        }
        if ferror(handle) != 0 { throw .unusable(file: file, role: role, reason: "cannot be read to its end") }
        return bytes
    }

    /// Certificate files are a few kilobytes; a bundle of every public authority is ~250 KB.
    static let maxPEMBytes = 4 << 20

    private static func certificates(_ file: String, role: String) throws(RedisTLSError) -> [NIOSSLCertificate] {
        let bytes = try read(file, role: role)
        let certificates: [NIOSSLCertificate]
        do { certificates = try NIOSSLCertificate.fromPEMBytes(bytes) } catch {
            throw .unusable(file: file, role: role, reason: "holds no readable PEM certificate (\(error))")
        }
        guard !certificates.isEmpty else {
            throw .unusable(file: file, role: role, reason: "holds no PEM certificate (BEGIN CERTIFICATE)")
        }
        return certificates
    }

    private static func privateKey(_ file: String) throws(RedisTLSError) -> NIOSSLPrivateKey {
        let bytes = try read(file, role: "keyFile")
        do { return try NIOSSLPrivateKey(bytes: bytes, format: .pem) } catch {
            throw .unusable(file: file, role: "keyFile", reason: "holds no unencrypted PEM private key (\(error))")
        }
    }

    static func isIPAddress(_ text: String) -> Bool { IPAddress(text) != nil }
}

/// Hands the handshake's future from the channel initializer (on the event loop) to the task
/// that connected: the initializer has run before `connect` returns.
private final class PromiseBox: Sendable {
    private let future = Mutex<EventLoopFuture<Void>?>(nil)
    func set(_ value: EventLoopFuture<Void>) { future.withLock { $0 = value } }
    func get() -> EventLoopFuture<Void>? { future.withLock { $0 } }
}

/// Why a TLS connection to a store server failed, in the words an operator acts on.
public enum RedisTLSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A PEM file of the settings cannot be used: fix the file or the path.
    case unusable(file: String, role: String, reason: String)
    /// The server's certificate does not chain to `caFile`, or does not name the server.
    case untrusted(HostPort, serverName: String, detail: String)
    /// The server ended the handshake: most often it requires a client certificate
    /// (`tls-auth-clients yes`) and none, or one it does not trust, was presented.
    case refusedByServer(HostPort, detail: String)
    /// Any other TLS failure (a server that does not speak TLS on this port, ...).
    case failed(HostPort, detail: String)

    public var description: String {
        switch self {
        case .unusable(let file, let role, let reason): "flow store TLS \(role) \(file) \(reason)"
        case .untrusted(let address, let name, let detail):
            "the certificate of the Redis server at \(address) was not trusted (it must chain to caFile and name "
                + "\(name); set serverName if it carries another name): \(detail)"
        case .refusedByServer(let address, let detail):
            "the Redis server at \(address) refused the TLS handshake; if it requires client certificates, set "
                + "certificateFile and keyFile to one its tls-ca-cert-file trusts: \(detail)"
        case .failed(let address, let detail): "TLS to the Redis server at \(address) failed: \(detail)"
        }
    }

    /// Names a failure NIOSSL reported on the connection to `address`; nil for errors that are
    /// not TLS's (they pass unchanged).
    init?(_ error: any Error, address: HostPort, serverName: String) {
        let detail = "\(error)"
        switch error {
        case let extra as NIOSSLExtraError where extra == .failedToValidateHostname:
            self = .untrusted(address, serverName: serverName, detail: "the certificate does not name \(serverName)")
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError:
            if detail.contains("CERTIFICATE_VERIFY_FAILED") {
                self = .untrusted(address, serverName: serverName, detail: detail)
            } else if detail.contains("ALERT") || detail.contains("CERTIFICATE_REQUIRED") {
                self = .refusedByServer(address, detail: detail)
            } else {
                self = .failed(address, detail: detail)
            }
        default: return nil
        }
    }
}

/// Reports the handshake's outcome and renames TLS errors, so that the task reading the
/// connection meets `RedisTLSError` rather than a bare "connection lost".
final class RedisTLSErrorNamer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let address: HostPort
    let serverName: String
    let handshake: EventLoopPromise<Void>
    /// Whether `handshake` is complete: a promise is completed once.
    private var reported = false

    init(address: HostPort, serverName: String, handshake: EventLoopPromise<Void>) {
        self.address = address
        self.serverName = serverName
        self.handshake = handshake
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent { report(nil) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let named = RedisTLSError(error, address: address, serverName: serverName) ?? error
        report(named)
        context.fireErrorCaught(named)
    }

    func channelInactive(context: ChannelHandlerContext) {
        report(RedisClientError.connectionLost(address))
        context.fireChannelInactive()
    }

    /// A connect that fails (refused, unreachable) never makes the channel active, so no
    /// inactive event comes: the promise is failed when the pipeline goes instead of leaking.
    func handlerRemoved(context: ChannelHandlerContext) {
        report(RedisClientError.connectionLost(address))
    }

    private func report(_ error: (any Error)?) {
        guard !reported else { return }
        reported = true
        if let error { handshake.fail(error) } else { handshake.succeed() }
    }
}

extension RedisConnectionOptions {
    /// The options a store's settings ask for: credentials, and TLS (its files read now).
    public init(settings: FlowStoreSettings) throws(RedisTLSError) {
        var tls: RedisTLS?
        if let files = settings.tls { tls = try RedisTLS(files) }
        self.init(
            credentials: settings.password.map { RedisCredentials(user: settings.user, password: $0) }, tls: tls)
    }

    /// Opens a connection to `address` as these options say: TLS if set, within the timeout,
    /// with TCP keepalive (a subscription only reads: it would never notice a vanished server).
    func connect(to address: HostPort) async throws -> ConnectionClient.Connection {
        if let tls { return try await tls.connect(to: address, timeout: connectTimeout) }
        return try await ConnectionClient.connect(to: address, timeout: connectTimeout) { channel in
            try ConnectionClient.keepAlive(channel)
        }
    }
}
