import Foundation
import Logging
import SwitchyardKubeClient
import SwitchyardKubernetes
import SwitchyardNet

/// `switchyard controller`: the I/O around two pure state machines. `LeaderElector` decides
/// whether this instance may act; `AddressAllocator` decides every address, status and Event.
/// This actor only executes their actions — lease reads and writes, status PATCHes with the
/// resourceVersion precondition, Events — and feeds the results back. It decides nothing itself.
///
/// Only the leader lists, watches and writes. Every write is checked against the elector's renew
/// deadline just before it is sent; when the lease is lost `run` throws and the process exits, so
/// a fresh instance (with a fresh allocator) competes again.
public actor Controller {
    public let client: KubeClient
    public let options: ControllerOptions
    let logger: Logger
    private var elector: LeaderElector
    private var allocator: AddressAllocator
    /// The elector's monotonic time, as every executor here keeps it.
    private let clock = ExecutorClock()
    private var counters = ControllerCounters()
    private var leadershipWaiters: [CheckedContinuation<Void, Never>] = []
    private var writesInFlight = 0
    /// Service status writes go first: they are what a user waits for. Pool status and Events
    /// follow (each list keeps its order; `Deque` would avoid removeFirst's copy, but the lists are
    /// drained as fast as the server answers and stay short).
    private var queuedStatus: [AllocatorAction] = []
    private var queuedOther: [AllocatorAction] = []

    public init(client: KubeClient, options: ControllerOptions, logger: Logger) {
        self.client = client
        self.options = options
        self.logger = logger
        elector = LeaderElector(
            configuration: .init(
                identity: options.identity, leaseNamespace: options.namespace, leaseName: options.leaseName,
                leaseDuration: options.leaseDuration, renewDeadline: options.renewDeadline,
                retryPeriod: options.retryPeriod))
        allocator = AddressAllocator(configuration: options.allocator)
    }

    public var snapshot: ControllerCounters { counters }

    /// Runs until cancelled (then releases the lease) or until the lease is lost (throws).
    public func run() async throws {
        let problems = elector.configuration.validationErrors
        guard problems.isEmpty else { throw ControllerConfigurationError(problems) }
        logger.info(
            "controller starting",
            metadata: [
                "identity": "\(options.identity)", "lease": "\(options.namespace)/\(options.leaseName)",
                "class": "\(options.allocator.loadBalancerClass)", "api": "\(client.connection.server)",
            ])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.electionLoop() }
            group.addTask {
                await self.waitForLeadership()
                try await self.allocate()
            }
            do {
                try await group.next()
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    // MARK: Leader election

    private func instant() -> LeaderElector.Instant {
        LeaderElector.Instant(monotonic: clock.now, wall: KubeTime(Date()))
    }

    private func electionLoop() async throws {
        var actions = elector.tick(at: instant())
        while true {
            var wake: Duration?
            while !actions.isEmpty {
                let action = actions.removeFirst()
                if case .wakeUp(let at) = action {
                    wake = at
                    continue
                }
                actions += try await executeElection(action)
            }
            if Task.isCancelled {
                await release()
                return
            }
            let delay = (wake ?? instant().monotonic + options.retryPeriod) - instant().monotonic
            if delay > .zero {
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    await release()
                    return
                }
            }
            actions = elector.tick(at: instant())
        }
    }

    private func executeElection(_ action: LeaderElector.Action) async throws -> [LeaderElector.Action] {
        switch action {
        case .readLease:
            do {
                let lease = try await client.get(Lease.self, namespace: options.namespace, name: options.leaseName)
                return elector.leaseObserved(lease, at: instant())
            } catch let error as KubeAPIError where error.isNotFound {
                return elector.leaseObserved(nil, at: instant())
            } catch {
                logger.warning("reading the lease failed: \(error)")
                return elector.readFailed(at: instant())
            }
        case .createLease(let lease):
            return await writeLease { try await self.client.create(lease, namespace: self.options.namespace) }
        case .updateLease(let lease):
            return await writeLease { try await self.client.update(lease) }
        case .becameLeader:
            counters.leading = true
            logger.info("leading", metadata: ["identity": "\(options.identity)"])
            for waiter in leadershipWaiters { waiter.resume() }
            leadershipWaiters.removeAll()
            return []
        case .lostLeadership(let reason):
            counters.leading = false
            logger.error("lost the lease: \(reason)")
            throw ControllerExit.lostLeadership(reason)
        case .wakeUp:
            return []
        }
    }

    private func writeLease(_ write: () async throws -> Lease) async -> [LeaderElector.Action] {
        do {
            return elector.writeSucceeded(try await write(), at: instant())
        } catch let error as KubeAPIError where error.code == 409 {
            return elector.writeConflicted(at: instant())
        } catch {
            logger.warning("writing the lease failed: \(error)")
            return elector.writeFailed("\(error)", at: instant())
        }
    }

    /// Graceful shutdown: step down, then hand the lease back so a successor starts at once.
    private func release() async {
        for action in elector.shutdownRequested(at: instant()) {
            if case .updateLease(let release) = action {
                // A task of its own: this one is cancelled, and a cancelled request is never sent.
                let (client, identity) = (client, options.identity)
                let released = await Task { await Self.handBack(release, client: client, identity: identity) }.value
                logger.info(released ? "lease released" : "lease release failed; it expires on its own")
            }
        }
        counters.leading = false
    }

    /// PUTs the elector's release. A renewal cut short by the shutdown may have landed after the
    /// record the release was built on (409): then the same edit goes onto the fresh record, as
    /// long as that record still names this instance — never onto someone else's.
    private static func handBack(_ release: Lease, client: KubeClient, identity: String) async -> Bool {
        var attempt = release
        for _ in 0..<3 {
            do {
                _ = try await client.update(attempt)
                return true
            } catch let error as KubeAPIError where error.isConflict {
                let name = release.metadata.name ?? ""
                guard var fresh = try? await client.get(Lease.self, namespace: release.metadata.namespace, name: name),
                    fresh.spec.holderIdentity == identity
                else { return false }
                fresh.spec = release.spec
                attempt = fresh
            } catch {
                return false
            }
        }
        return false
    }

    private func waitForLeadership() async {
        if elector.isLeader(at: instant().monotonic) { return }
        await withCheckedContinuation { leadershipWaiters.append($0) }
    }

    private func mayWrite() -> Bool { elector.isLeader(at: instant().monotonic) }

    // MARK: Allocation

    private func allocate() async throws {
        let pools = KubeReflector<AddressPool>(client: client, watchTimeout: options.watchTimeout, logger: logger)
        let namespaces = KubeReflector<Namespace>(client: client, watchTimeout: options.watchTimeout, logger: logger)
        let services = KubeReflector<Service>(client: client, watchTimeout: options.watchTimeout, logger: logger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await pools.run { event in
                    switch event {
                    case .listed(let items): await self.feed(.poolsListed(items), relist: true)
                    case .upserted(let pool): await self.feed(.poolUpserted(pool))
                    case .deleted(let pool): await self.feed(.poolDeleted(name: pool.metadata.name ?? ""))
                    }
                }
            }
            group.addTask {
                await namespaces.run { event in
                    switch event {
                    case .listed(let items): await self.feed(.namespacesListed(items), relist: true)
                    case .upserted(let namespace): await self.feed(.namespaceUpserted(namespace))
                    case .deleted(let namespace):
                        await self.feed(.namespaceDeleted(name: namespace.metadata.name ?? ""))
                    }
                }
            }
            group.addTask {
                await services.run { event in
                    switch event {
                    case .listed(let items): await self.feed(.servicesListed(items), relist: true)
                    case .upserted(let service): await self.feed(.serviceUpserted(service))
                    case .deleted(let service): await self.feed(.serviceDeleted(NamespacedName(service)))
                    }
                }
            }
        }
    }

    /// One input into the allocator; its actions are executed (writes at most
    /// `maxWritesInFlight` at once, the rest queued: Service statuses first, then the rest).
    func feed(_ input: AllocatorInput, relist: Bool = false) {
        if relist && counters.synced { counters.relists += 1 }
        let actions = allocator.handle(input, at: KubeTime(Date()))
        counters.synced = allocator.isSynced
        counters.assigned = allocator.assignments.count
        for action in actions {
            if case .writeServiceStatus = action { queuedStatus.append(action) } else { queuedOther.append(action) }
        }
        pump()
    }

    private func pump() {
        while writesInFlight < options.maxWritesInFlight, !queuedStatus.isEmpty || !queuedOther.isEmpty {
            let action = queuedStatus.isEmpty ? queuedOther.removeFirst() : queuedStatus.removeFirst()
            writesInFlight += 1
            Task {
                await self.execute(action)
                self.finished()
            }
        }
        updateBacklog()
    }

    private func finished() {
        writesInFlight -= 1
        pump()
    }

    private func updateBacklog() { counters.backlog = writesInFlight + queuedStatus.count + queuedOther.count }

    private func execute(_ action: AllocatorAction) async {
        guard mayWrite() else {
            logger.warning("not leading (renew deadline passed): dropping \(action)")
            return
        }
        switch action {
        case .writeServiceStatus(let write): await writeServiceStatus(write)
        case .writePoolStatus(let write): await writePoolStatus(write)
        case .recordEvent(let record): await recordEvent(record)
        }
    }

    private func writeServiceStatus(_ write: ServiceStatusWrite) async {
        let key = write.key
        do {
            let patch = StatusPatch(
                resourceVersion: write.resourceVersion, status: ServiceStatusPatchBody(status: write.status))
            let body = try JSONEncoder().encode(patch)
            let updated = try await client.patch(
                Service.self, namespace: key.namespace, name: key.name, subresource: "status", body: body)
            counters.serviceWrites += 1
            feed(.serviceStatusWritten(write, .succeeded(updated)))
            logger.info(
                "service status written",
                metadata: [
                    "service": "\(key)",
                    "ingress": "\((write.status.loadBalancer?.ingress ?? []).compactMap(\.ip).joined(separator: ","))",
                ])
        } catch let error as KubeAPIError where error.isConflict || error.isNotFound {
            counters.serviceWriteConflicts += 1
            feed(.serviceStatusWritten(write, .conflict))
            await refresh(key)
        } catch let error as KubeAPIError {
            counters.serviceWriteFailures += 1
            logger.error("service status write refused", metadata: ["service": "\(key)", "error": "\(error)"])
            feed(.serviceStatusWritten(write, .rejected(message: error.description)))
        } catch {
            // Not refused: the write may or may not have landed. Re-read and decide again, after a pause.
            counters.serviceWriteFailures += 1
            logger.warning("service status write failed", metadata: ["service": "\(key)", "error": "\(error)"])
            feed(.serviceStatusWritten(write, .conflict))
            try? await Task.sleep(for: .milliseconds(500))
            await refresh(key)
        }
    }

    /// After a conflict: the fresh object (or its absence) goes in as any watch event would.
    private func refresh(_ key: NamespacedName) async {
        do {
            feed(.serviceUpserted(try await client.get(Service.self, namespace: key.namespace, name: key.name)))
        } catch let error as KubeAPIError where error.isNotFound {
            feed(.serviceDeleted(key))
        } catch {
            logger.warning("re-reading \(key) failed: \(error); the watch will bring it")
        }
    }

    private func writePoolStatus(_ write: PoolStatusWrite) async {
        do {
            let body = try JSONEncoder().encode(
                StatusPatch(resourceVersion: write.resourceVersion, status: write.status))
            let updated = try await client.patch(
                AddressPool.self, namespace: nil, name: write.name, subresource: "status", body: body)
            counters.poolWrites += 1
            feed(.poolStatusWritten(write, .succeeded(updated)))
        } catch let error as KubeAPIError where error.isConflict || error.isNotFound {
            feed(.poolStatusWritten(write, .conflict))
            if let fresh = try? await client.get(AddressPool.self, namespace: nil, name: write.name) {
                feed(.poolUpserted(fresh))
            }
        } catch {
            counters.poolWriteFailures += 1
            logger.warning("pool status write failed", metadata: ["pool": "\(write.name)", "error": "\(error)"])
            feed(.poolStatusWritten(write, .rejected(message: "\(error)")))
        }
    }

    private func recordEvent(_ record: EventRecord) async {
        let key = record.involvedObject
        let now = KubeTime(Date()).rfc3339
        var metadata = ObjectMeta(namespace: key.namespace)
        metadata.generateName = "\(key.name)."
        let event = Event(
            metadata: metadata,
            involvedObject: ObjectReference(
                apiVersion: "v1", kind: "Service", namespace: key.namespace, name: key.name, uid: record.involvedUID),
            reason: record.reason, message: record.message, type: record.type.rawValue,
            component: ControllerOptions.component, instance: options.identity, time: now)
        do {
            _ = try await client.create(event, namespace: key.namespace)
            counters.events += 1
        } catch {
            counters.eventFailures += 1
            logger.warning("event not recorded", metadata: ["service": "\(key)", "error": "\(error)"])
        }
        logger.info(
            "\(record.reason)",
            metadata: ["service": "\(key)", "type": "\(record.type.rawValue)", "message": "\(record.message)"])
    }
}

public struct ControllerConfigurationError: Error, CustomStringConvertible {
    public var problems: [String]
    init(_ problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "; ") }
}

/// `PATCH …/status` (merge patch) carrying the resourceVersion the decision was based on: 409 when
/// the object changed since, and the decision is made again on the fresh object.
struct StatusPatch<Status: Encodable>: Encodable {
    var resourceVersion: String?
    var status: Status

    func encode(to encoder: any Encoder) throws {
        var root = encoder.container(keyedBy: Key.self)
        var metadata = root.nestedContainer(keyedBy: Key.self, forKey: "metadata")
        try metadata.encode(resourceVersion, forKey: "resourceVersion")
        try root.encode(status, forKey: "status")
    }
}

/// A Service's status as a merge patch: the ingress list and the conditions, explicit nulls
/// clearing what Switchyard no longer holds (an absent key would leave the old value).
struct ServiceStatusPatchBody: Encodable {
    var status: ServiceStatus

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        var loadBalancer = container.nestedContainer(keyedBy: Key.self, forKey: "loadBalancer")
        if let ingress = status.loadBalancer?.ingress, !ingress.isEmpty {
            try loadBalancer.encode(ingress, forKey: "ingress")
        } else {
            try loadBalancer.encodeNil(forKey: "ingress")
        }
        if let conditions = status.conditions, !conditions.isEmpty {
            try container.encode(conditions, forKey: "conditions")
        } else {
            try container.encodeNil(forKey: "conditions")
        }
    }
}

struct Key: CodingKey, ExpressibleByStringLiteral {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
    init(stringLiteral value: String) { stringValue = value }
}
