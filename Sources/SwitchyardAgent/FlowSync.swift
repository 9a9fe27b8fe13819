import Foundation
import Logging
import SwitchyardABI
import SwitchyardCore
import SwitchyardDatapath
import SwitchyardStore

/// Stateful mode's plumbing between the datapath and the flow store.
///
/// Out: the datapath's reports (new, refresh, FIN, RST) become store writes, sent in one batch
/// per ring-buffer poll. In: entries other nodes announce are installed into this node's flow
/// table, a batch per read. If the store is down, forwarding carries on with local entries and
/// Maglev: writes wait in a bounded queue (oldest dropped, counted), and on reconnection the
/// node re-writes its own live entries (a restarted Redis comes back empty) and reloads the
/// store's, so it misses nothing that happened meanwhile.
struct FlowSync {
    let agent: Agent
    let store: any FlowStore
    let logger: Logger
    static let maxPending = 500_000

    func run() async {
        let reader: FlowEventReader
        do { reader = try FlowEventReader(datapath: agent.datapath) } catch {
            logger.error("flow sharing off: cannot read the datapath's flow reports", metadata: ["error": "\(error)"])
            return
        }
        let (reports, reportSink) = AsyncStream<[sy_flow_event]>.makeStream()
        let (outbox, outboxSink) = AsyncStream<[FlowStoreWrite]>.makeStream()
        await agent.setStoreOutbox(outboxSink)
        // A poll returns as soon as reports arrive, else after 20 ms: the empty batch is the
        // writer's tick for retries. Reports arriving within 1 ms of the first join its batch:
        // one store round trip per millisecond at most, not one per flow, at little latency.
        let polling = Thread {
            while !Thread.current.isCancelled {
                var events = reader.poll(timeoutMs: 20)
                if !events.isEmpty {
                    usleep(1000)
                    events += reader.poll(timeoutMs: 0)
                }
                reportSink.yield(events)
            }
            reportSink.finish()
        }
        polling.start()
        defer { polling.cancel() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await events in reports { outboxSink.yield(await agent.storeWrites(for: events)) }
                outboxSink.finish()
            }
            group.addTask { await write(outbox) }
            if store.shared { group.addTask { await follow() } }
            await group.waitForAll()
        }
    }

    private static func backoff(_ failures: Int) -> Duration {
        .milliseconds(min(5000, 100 << min(failures, 6)))
    }

    private func write(_ outbox: AsyncStream<[FlowStoreWrite]>) async {
        var pending: [FlowStoreWrite] = []
        var failures = 0
        var retryAt = ContinuousClock.now
        for await writes in outbox {
            pending += writes
            if pending.count > Self.maxPending {
                let dropped = pending.count - Self.maxPending
                pending.removeFirst(dropped)
                await agent.noteStore(dropped: dropped)
                logger.warning("flow store unreachable: oldest writes dropped", metadata: ["dropped": "\(dropped)"])
            }
            guard !pending.isEmpty, ContinuousClock.now >= retryAt else { continue }
            do {
                let result = try await store.write(pending)
                if failures > 0 {
                    logger.notice("flow store reachable again", metadata: ["store": "\(store.description)", "written": "\(pending.count)"])
                    failures = 0
                    await agent.noteStore(reachable: true)
                }
                if result.refused > 0 {
                    logger.warning("flow store refused writes", metadata: ["refused": "\(result.refused)", "first": "\(result.firstRefusal ?? "")"])
                }
                pending.removeAll(keepingCapacity: true)
                await agent.noteStore(refused: result.refused, pending: 0)
            } catch {
                if failures == 0 {
                    logger.error("flow store unreachable; forwarding continues on local entries",
                                 metadata: ["store": "\(store.description)", "error": "\(error)"])
                }
                failures += 1
                retryAt = ContinuousClock.now + Self.backoff(failures)
                await agent.noteStore(reachable: false, failures: 1, pending: pending.count)
            }
        }
    }

    private func follow() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let announced = try await store.follow()
                // Subscribed: load the store, so entries announced before the subscription took
                // effect (since the snapshot at start, or during an outage) are not missed. After
                // an outage, first re-write our own: the store may have restarted empty.
                var rewritten = 0
                if failures > 0 {
                    let own = await agent.ownEntriesForStore()
                    rewritten = own.count
                    _ = try await store.write(own)
                }
                let records = try await store.snapshot()
                let installed = await agent.install(records)
                if failures > 0 {
                    await agent.noteStore(reachable: true)
                    logger.notice("flow store subscription restored", metadata: [
                        "own_entries_rewritten": "\(rewritten)", "store_entries": "\(records.count)", "installed": "\(installed)",
                    ])
                }
                failures = 0
                for try await records in announced { await agent.install(records) }
                throw RedisClient.RedisError("subscription ended")
            } catch {
                if Task.isCancelled { return }
                if failures == 0 {
                    logger.error("flow store subscription lost", metadata: ["store": "\(store.description)", "error": "\(error)"])
                    await agent.noteStore(reachable: false)
                }
                failures += 1
                try? await Task.sleep(for: Self.backoff(failures))
            }
        }
    }
}
