import Foundation
import Logging
import SwitchyardKubernetes

/// What a reflector hands its consumer: a full list (the first, and again after every relist —
/// the consumer replaces what it knew), then each change.
public enum InformerEvent<Object: KubeResource>: Sendable {
    case listed([Object])
    case upserted(Object)
    case deleted(Object)
}

/// Keeps a consumer in step with one kind of object: list, then watch from the list's
/// resourceVersion with bookmarks; on `410 Gone` (as a refusal or as an ERROR event) list again; on a
/// dropped connection or a server timeout watch again from the last version seen, with backoff.
public struct KubeReflector<Object: KubeResource>: Sendable {
    public let client: KubeClient
    public let namespace: String?
    /// The server ends each watch after this many seconds (jittered ±20%); then we re-watch.
    public let watchTimeout: Int
    public let logger: Logger

    public init(client: KubeClient, namespace: String? = nil, watchTimeout: Int = 300, logger: Logger) {
        self.client = client
        self.namespace = namespace
        self.watchTimeout = watchTimeout
        self.logger = logger
    }

    /// Counts for metrics and tests.
    public struct Counts: Sendable, Equatable {
        public var lists = 0
        public var watches = 0
        public var gone = 0
        public var failures = 0
    }

    private struct Expired: Error {}

    /// Runs until the task is cancelled.
    public func run(
        counts: (@Sendable (Counts) -> Void)? = nil, deliver: @Sendable (InformerEvent<Object>) async -> Void
    ) async {
        var backoff = RetryBackoff()
        var version: String?
        var tally = Counts()
        while !Task.isCancelled {
            if version == nil {
                do {
                    let list = try await client.list(Object.self, namespace: namespace)
                    tally.lists += 1
                    counts?(tally)
                    version = list.metadata.resourceVersion
                    await deliver(.listed(list.items))
                    backoff.reset()
                } catch {
                    tally.failures += 1
                    counts?(tally)
                    logger.warning("list \(Object.plural) failed: \(error); retrying")
                    await pause(&backoff)
                    continue
                }
            }
            do {
                tally.watches += 1
                counts?(tally)
                let timeout = max(1, watchTimeout * Int.random(in: 80...120) / 100)
                var delivered = false
                try await client.watch(
                    Object.self, namespace: namespace, resourceVersion: version, timeoutSeconds: timeout
                ) { event in
                    switch event {
                    case .added(let object), .modified(let object):
                        version = object.metadata.resourceVersion ?? version
                        delivered = true
                        await deliver(.upserted(object))
                    case .deleted(let object):
                        version = object.metadata.resourceVersion ?? version
                        delivered = true
                        await deliver(.deleted(object))
                    case .bookmark(let resourceVersion):
                        version = resourceVersion
                    case .error(let status) where status.code == 410:
                        throw Expired()
                    case .error(let status):
                        throw KubeAPIError(code: status.code ?? 500, status: status, request: "watch \(Object.plural)")
                    }
                }
                if delivered { backoff.reset() }
            } catch is Expired {
                tally.gone += 1
                counts?(tally)
                logger.info("watch \(Object.plural): resourceVersion \(version ?? "") expired (410); listing again")
                version = nil
            } catch let error as KubeAPIError where error.isGone {
                tally.gone += 1
                counts?(tally)
                logger.info("watch \(Object.plural): \(error); listing again")
                version = nil
            } catch {
                if Task.isCancelled { return }
                tally.failures += 1
                counts?(tally)
                logger.warning("watch \(Object.plural) broke: \(error); watching again from \(version ?? "the start")")
                await pause(&backoff)
            }
        }
    }

    private func pause(_ backoff: inout RetryBackoff) async {
        let seconds = backoff.nextDelay(jitter: Double.random(in: 0..<1))
        try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
    }
}
