import Foundation
import Logging
import Testing

@testable import SwitchyardKubeClient
@testable import SwitchyardKubernetes

/// A ConfigMap: the simplest namespaced kind, so the client's tests need no product type.
struct TestConfigMap: KubeResource, Equatable {
    static let group = ""
    static let version = "v1"
    static let kind = "ConfigMap"
    static let plural = "configmaps"
    static let namespaced = true
    var apiVersion: String? = "v1"
    var kind: String? = "ConfigMap"
    var metadata: ObjectMeta
    var data: [String: String]?
}

@Suite struct KubeconfigTests {
    @Test func theCurrentContextPicksClusterUserAndNamespaceAndRelativeFilesResolveAgainstTheFile() throws {
        let directory = NSTemporaryDirectory() + "sy-kc-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "secret-token\n".write(toFile: "\(directory)/token", atomically: true, encoding: .utf8)
        let ca = Data("CA".utf8).base64EncodedString()
        let text = """
            apiVersion: v1
            kind: Config
            current-context: b
            clusters:
            - name: one
              cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: "\(ca)"}
            contexts:
            - name: a
              context: {cluster: one, user: nobody}
            - name: b
              context: {cluster: one, user: filed, namespace: shop}
            users:
            - name: filed
              user: {tokenFile: token}
            - name: plugin
              user: {exec: {command: aws}}
            """
        try text.write(toFile: "\(directory)/config", atomically: true, encoding: .utf8)
        let connection = try Kubeconfig.load(path: "\(directory)/config").connection()
        #expect(connection.server == "https://10.0.0.1:6443")
        #expect(connection.namespace == "shop")
        #expect(connection.certificateAuthorityPEM == Array("CA".utf8))
        guard case .token(let source) = connection.credentials else {
            Issue.record("expected a token")
            return
        }
        #expect(try source.current() == "secret-token")
        // A context naming an undefined user is an error that says which.
        #expect(throws: KubeConfigError.self) {
            try Kubeconfig.load(path: "\(directory)/config").connection(context: "a")
        }
        #expect(throws: KubeConfigError.self) {
            try Kubeconfig.load(path: "\(directory)/config").connection(context: "zz")
        }
    }

    @Test func anExecPluginIsRefusedNotIgnored() throws {
        let text = """
            current-context: p
            clusters: [{name: c, cluster: {server: "https://h:1"}}]
            contexts: [{name: p, context: {cluster: c, user: plugin}}]
            users: [{name: plugin, user: {exec: {command: aws}}}]
            """
        #expect(throws: KubeConfigError.self) { try Kubeconfig.parse(text).connection() }
    }

    @Test func inClusterNeedsTheServiceEnvironmentAndReadsTheMountedFiles() throws {
        #expect(throws: KubeConfigError.self) { try KubeConnection.inCluster(environment: [:]) }
        let directory = NSTemporaryDirectory() + "sy-sa-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (name, text) in [("token", "t1"), ("ca.crt", "CA"), ("namespace", "switchyard-system")] {
            try text.write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
        }
        let connection = try KubeConnection.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"], directory: directory)
        #expect(connection.server == "https://[fd00::1]:443")
        #expect(connection.namespace == "switchyard-system")
        guard case .token(let source) = connection.credentials else {
            Issue.record("expected a token")
            return
        }
        #expect(try source.current() == "t1")
        // The kubelet rotates the token: the next request reads the new one.
        try "t2".write(toFile: "\(directory)/token", atomically: true, encoding: .utf8)
        #expect(try source.current() == "t2")
    }
}

@Suite(.serialized) struct KubeClientServerTests {
    @Test func bearerTokenAndClientCertificateAuthenticateAndAWrongTokenIs401() async throws {
        try await TestAPIServer.with { server in
            for certificate in [false, true] {
                let client = try server.client(certificate: certificate)
                let list = try await client.list(TestConfigMap.self, namespace: "default")
                #expect(list.metadata.resourceVersion != nil)
                try await client.shutdown()
            }
            var connection = try Kubeconfig.load(path: server.kubeconfig).connection()
            connection.credentials = .token(.literal("wrong"))
            let client = try KubeClient(connection: connection)
            do {
                _ = try await client.list(TestConfigMap.self, namespace: "default")
                Issue.record("a wrong token was accepted")
            } catch let error as KubeAPIError {
                #expect(error.code == 401)
            }
            try await client.shutdown()
        }
    }

    @Test func createGetAndAStalePreconditionIsAConflict() async throws {
        try await TestAPIServer.with { server in
            let client = try server.client()
            defer { Task { try? await client.shutdown() } }
            let created = try await client.create(
                TestConfigMap(metadata: ObjectMeta(name: "a", namespace: "default"), data: ["k": "1"]),
                namespace: "default")
            let stale = try #require(created.metadata.resourceVersion)
            let patched = try await client.patch(
                TestConfigMap.self, namespace: "default", name: "a",
                body: Data(#"{"metadata":{"resourceVersion":"\#(stale)"},"data":{"k":"2"}}"#.utf8))
            #expect(patched.data?["k"] == "2")
            do {
                _ = try await client.patch(
                    TestConfigMap.self, namespace: "default", name: "a",
                    body: Data(#"{"metadata":{"resourceVersion":"\#(stale)"},"data":{"k":"3"}}"#.utf8))
                Issue.record("a stale precondition was accepted")
            } catch let error as KubeAPIError {
                #expect(error.isConflict)
            }
            do {
                _ = try await client.create(
                    TestConfigMap(metadata: ObjectMeta(name: "a", namespace: "default")), namespace: "default")
                Issue.record("a duplicate create was accepted")
            } catch let error as KubeAPIError {
                #expect(error.isAlreadyExists)
            }
            let fetched = try await client.get(TestConfigMap.self, namespace: "default", name: "a")
            #expect(fetched.data?["k"] == "2")
            do {
                _ = try await client.get(TestConfigMap.self, namespace: "default", name: "missing")
            } catch let error as KubeAPIError {
                #expect(error.isNotFound)
            }
        }
    }

    @Test func aWatchFromAnOldVersionIsRefusedWith410AfterCompaction() async throws {
        try await TestAPIServer.with { server in
            let client = try server.client()
            defer { Task { try? await client.shutdown() } }
            let version = try await client.list(TestConfigMap.self, namespace: "default").metadata.resourceVersion
            for index in 0..<3 {
                _ = try await client.create(
                    TestConfigMap(metadata: ObjectMeta(name: "c\(index)", namespace: "default")), namespace: "default")
            }
            try server.testing("compact")
            var sawGone = false
            do {
                try await client.watch(
                    TestConfigMap.self, namespace: "default", resourceVersion: version, timeoutSeconds: 5
                ) { event in
                    if case .error(let status) = event, status.code == 410 { sawGone = true }
                }
            } catch let error as KubeAPIError where error.isGone {
                sawGone = true
            }
            #expect(sawGone)
        }
    }

    /// The reflector: one list, then changes; a dropped watch resumes from the last version (no
    /// relist, nothing missed); an expired version relists.
    @Test(arguments: ["plain", "split", "coalesce", "random"])
    func theReflectorResumesAfterDroppedWatchesAndRelistsAfterExpiry(chunking: String) async throws {
        try await TestAPIServer.with(["--bookmark-interval", "0.3", "--chunking", chunking]) { server in
            let client = try server.client()
            let seen = Recorder()
            let reflector = KubeReflector<TestConfigMap>(
                client: client, namespace: "default", watchTimeout: 30, logger: Logger(label: "test"))
            let task = Task {
                await reflector.run(counts: { counts in seen.set(counts) }) { event in seen.record(event) }
            }
            try await seen.wait { $0.lists == 1 }
            for index in 0..<5 {
                _ = try await client.create(
                    TestConfigMap(metadata: ObjectMeta(name: "r\(index)", namespace: "default")), namespace: "default")
            }
            try await seen.wait { $0.names.count == 5 }
            try server.testing("close-watches")
            _ = try await client.create(
                TestConfigMap(metadata: ObjectMeta(name: "after-drop", namespace: "default")), namespace: "default")
            try await seen.wait { $0.names.contains("after-drop") }
            #expect(seen.snapshot.lists == 1, "a dropped watch resumes without a relist")
            try await client.delete(TestConfigMap.self, namespace: "default", name: "r0")
            try await seen.wait { !$0.names.contains("r0") }
            task.cancel()
            _ = await task.value
            try await client.shutdown()
        }
    }
}

/// What the reflector delivered, for polling from a test.
final class Recorder: @unchecked Sendable {
    struct State {
        var names: Set<String> = []
        var lists = 0
        var counts = KubeReflector<TestConfigMap>.Counts()
    }
    private let lock = NSLock()
    private var state = State()

    var snapshot: State { lock.withLock { state } }

    func set(_ counts: KubeReflector<TestConfigMap>.Counts) { lock.withLock { state.counts = counts } }

    func record(_ event: InformerEvent<TestConfigMap>) {
        lock.withLock {
            switch event {
            case .listed(let items):
                state.lists += 1
                state.names = Set(items.compactMap(\.metadata.name))
            case .upserted(let object): state.names.insert(object.metadata.name ?? "")
            case .deleted(let object): state.names.remove(object.metadata.name ?? "")
            }
        }
    }

    /// Polls a real server's effect (up to 10 s), not a state machine's.
    func wait(_ condition: (State) -> Bool) async throws {
        for _ in 0..<200 {
            if condition(snapshot) { return }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw TestServerError("timed out; state: \(snapshot)")
    }
}
