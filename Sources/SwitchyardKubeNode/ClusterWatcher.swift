import Foundation
import Logging
import SwitchyardKubeClient
import SwitchyardKubernetes

/// Keeps a `ClusterObjects` in step with the API (Services, EndpointSlices, AddressPools, one reflector each)
/// and tells its consumers when something a node acts on changed. Bursts coalesce: a consumer that is busy
/// reconciling sees one pending change, not a queue of them.
public actor ClusterWatcher {
    public private(set) var objects = ClusterObjects()
    /// Changes that mattered, since start (for metrics and tests).
    public private(set) var changes = 0
    let client: KubeClient
    let logger: Logger
    let watchTimeout: Int
    private var syncWaiters: [CheckedContinuation<Void, Never>] = []
    private var subscribers: [UUID: AsyncStream<String>.Continuation] = [:]

    public init(client: KubeClient, watchTimeout: Int = 300, logger: Logger) {
        self.client = client
        self.watchTimeout = watchTimeout
        self.logger = logger
    }

    /// Runs the three reflectors until the calling task is cancelled.
    public func run() async {
        let services = KubeReflector<Service>(client: client, watchTimeout: watchTimeout, logger: logger)
        let slices = KubeReflector<EndpointSlice>(client: client, watchTimeout: watchTimeout, logger: logger)
        let pools = KubeReflector<AddressPool>(client: client, watchTimeout: watchTimeout, logger: logger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await services.run { event in
                    switch event {
                    case .listed(let items): await self.apply(.servicesListed(items), "services listed")
                    case .upserted(let s): await self.apply(.serviceUpserted(s), "service \(NamespacedName(s))")
                    case .deleted(let s): await self.apply(.serviceDeleted(s), "service \(NamespacedName(s)) deleted")
                    }
                }
            }
            group.addTask {
                await slices.run { event in
                    switch event {
                    case .listed(let items): await self.apply(.slicesListed(items), "endpointslices listed")
                    case .upserted(let s): await self.apply(.sliceUpserted(s), "endpointslice \(Self.name(s))")
                    case .deleted(let s): await self.apply(.sliceDeleted(s), "endpointslice \(Self.name(s)) deleted")
                    }
                }
            }
            group.addTask {
                await pools.run { event in
                    switch event {
                    case .listed(let items): await self.apply(.poolsListed(items), "addresspools listed")
                    case .upserted(let p): await self.apply(.poolUpserted(p), "addresspool \(p.metadata.name ?? "")")
                    case .deleted(let p):
                        await self.apply(.poolDeleted(p), "addresspool \(p.metadata.name ?? "") deleted")
                    }
                }
            }
        }
    }

    nonisolated static func name(_ slice: EndpointSlice) -> String {
        "\(slice.metadata.namespace ?? "")/\(slice.metadata.name ?? "")"
    }

    func apply(_ change: ClusterChange, _ trigger: String) {
        let wasSynced = objects.isSynced
        let mattered = objects.apply(change)
        if objects.isSynced && !wasSynced {
            logger.info(
                "cluster state synced",
                metadata: [
                    "services": "\(objects.services.count)", "endpointslices": "\(objects.slices.count)",
                    "addresspools": "\(objects.pools.count)",
                ])
            for waiter in syncWaiters { waiter.resume() }
            syncWaiters = []
        }
        guard objects.isSynced, mattered || !wasSynced else { return }
        changes += 1
        for subscriber in subscribers.values { subscriber.yield("kubernetes: \(trigger)") }
    }

    /// Returns once every kind has been listed.
    public func synced() async {
        if objects.isSynced { return }
        await withCheckedContinuation { syncWaiters.append($0) }
    }

    /// Each element: a change that may alter what the node does (the latest one if the consumer lags).
    public func subscribe() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        subscribers[id] = continuation
        continuation.onTermination = { _ in Task { await self.unsubscribe(id) } }
        return stream
    }

    private func unsubscribe(_ id: UUID) { subscribers[id] = nil }
}
