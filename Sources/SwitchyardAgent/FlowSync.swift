import Foundation
import Logging
import SwitchyardABI
import SwitchyardControl
import SwitchyardCore
import SwitchyardDatapath
import SwitchyardStore

/// Stateful mode's executor between the datapath and the flow store. What to send, when to
/// retry and in which order to reconnect is `FlowSyncStateMachine`'s; this runs the ring-buffer
/// poller and the store calls, and feeds their outcomes back to the machine, one at a time, from
/// one loop.
struct FlowSync {
    let agent: Agent
    let store: any FlowStore
    let logger: Logger

    /// What happened, as the loop hears of it.
    private enum Input: Sendable {
        case writes([FlowStoreWrite])
        case written(FlowStoreWriteResult)
        case writeFailed(String)
        case subscribed
        case ownEntriesWritten(Int, FlowStoreWriteResult)
        case snapshotLoaded(records: Int, installed: Int)
        case subscriptionFailed(String)
        case timer(FlowSyncStateMachine.Timer)
    }

    func run() async {
        let reader: FlowEventReader
        do { reader = try FlowEventReader(datapath: agent.datapath) } catch {
            logger.error("flow sharing off: cannot read the datapath's flow reports", metadata: ["error": "\(error)"])
            return
        }
        let (inputs, sink) = AsyncStream<Input>.makeStream()
        let (outbox, outboxSink) = AsyncStream<[FlowStoreWrite]>.makeStream()
        let (reports, reportSink) = AsyncStream<[sy_flow_event]>.makeStream()
        await agent.setStoreOutbox(outboxSink)
        // A poll returns as soon as reports arrive, else after 20 ms. Reports arriving within
        // 1 ms of the first join its batch: one store round trip per millisecond at most, not one
        // per flow, at little latency.
        let polling = Thread {
            while !Thread.current.isCancelled {
                var events = reader.poll(timeoutMs: 20)
                guard !events.isEmpty else { continue }
                usleep(1000)
                events += reader.poll(timeoutMs: 0)
                reportSink.yield(events)
            }
            reportSink.finish()
        }
        polling.start()
        defer { polling.cancel() }

        let origin = ContinuousClock.now
        var follower: Task<Void, Never>?
        defer { follower?.cancel() }
        await withTaskGroup(of: Void.self) { group in
            // Reports → the agent (resets removed, writes to the outbox) → the loop.
            group.addTask { for await events in reports { await agent.flowReportsArrived(events) } }
            group.addTask { for await writes in outbox { sink.yield(.writes(writes)) } }

            var machine = FlowSyncStateMachine(store: store.description)
            var actions = store.shared ? machine.started(at: .zero) : []
            var iterator = inputs.makeAsyncIterator()
            while true {
                for action in actions {
                    switch action {
                    case .write(let batch):
                        group.addTask {
                            do { sink.yield(.written(try await store.write(batch))) } catch {
                                sink.yield(.writeFailed("\(error)"))
                            }
                        }
                    case .subscribe:
                        // The subscription outlives this step: an owned task, cancelled when a
                        // later step fails and when flow sync stops.
                        follower?.cancel()
                        follower = Task { await follow(sink) }
                    case .rewriteOwnEntries:
                        group.addTask {
                            let own = await agent.ownEntriesForStore()
                            do {
                                // In batches, as the queue sends them: a store's request buffer is bounded.
                                var result = FlowStoreWriteResult()
                                for start in stride(from: 0, to: own.count, by: FlowSyncStateMachine.maxBatch) {
                                    let batch = Array(
                                        own[start..<min(own.count, start + FlowSyncStateMachine.maxBatch)])
                                    result.merge(try await store.write(batch))
                                }
                                sink.yield(.ownEntriesWritten(own.count, result))
                            } catch {
                                sink.yield(.subscriptionFailed("re-writing own entries: \(error)"))
                            }
                        }
                    case .loadSnapshot:
                        group.addTask {
                            do {
                                let records = try await store.snapshot()
                                let installed = await agent.flowRecordsArrived(records)
                                await agent.flowStoreLoaded()
                                sink.yield(.snapshotLoaded(records: records.count, installed: installed))
                            } catch {
                                sink.yield(.subscriptionFailed("loading the store: \(error)"))
                            }
                        }
                    case .armTimer(let timer, let at):
                        group.addTask {
                            try? await Task.sleep(until: origin + at, clock: .continuous)
                            sink.yield(.timer(timer))
                        }
                    case .storeReachable(let reachable):
                        await agent.storeReachable(reachable)
                    case .log(let record):
                        logger.log(record)
                    }
                }
                await agent.noteFlowSync(machine.counts)
                guard let input = await iterator.next() else { break }
                let now = ContinuousClock.now - origin
                switch input {
                case .writes(let writes): actions = machine.writesQueued(writes, at: now)
                case .written(let result):
                    actions = machine.writeCompleted(result.outcome, at: now)
                case .writeFailed(let error): actions = machine.writeFailed(error: error, at: now)
                case .subscribed: actions = machine.subscribed(at: now)
                case .ownEntriesWritten(let n, let result):
                    actions = machine.ownEntriesWritten(n, outcome: result.outcome, at: now)
                case .snapshotLoaded(let records, let installed):
                    actions = machine.snapshotLoaded(records: records, installed: installed, at: now)
                case .subscriptionFailed(let error):
                    follower?.cancel()
                    follower = nil
                    actions = machine.subscriptionFailed(error: error, at: now)
                case .timer(let timer): actions = machine.timerFired(timer, at: now)
                }
            }
            group.cancelAll()
        }
    }

    /// Subscribes, reports it once the store confirms, and installs what other nodes announce
    /// until the subscription ends (reported as a failure) or the task is cancelled.
    private func follow(_ sink: AsyncStream<Input>.Continuation) async {
        do {
            try await store.follow { announced in
                sink.yield(.subscribed)
                for try await records in announced { await agent.flowRecordsArrived(records) }
            }
            if !Task.isCancelled { sink.yield(.subscriptionFailed("subscription ended")) }
        } catch {
            if !Task.isCancelled { sink.yield(.subscriptionFailed("\(error)")) }
        }
    }
}

extension FlowStoreWriteResult {
    /// What the flow-sync machine needs to know of a batch's replies.
    var outcome: FlowSyncStateMachine.WriteOutcome {
        FlowSyncStateMachine.WriteOutcome(
            retry: retry.map(\.write),
            refused: Dictionary(uniqueKeysWithValues: refused.map { ($0.key.rawValue, $0.value) }),
            errors: Dictionary(uniqueKeysWithValues: errors.map { ($0.key.rawValue, $0.value) }),
            firstRefusal: firstRefusal.map { "\($0)" })
    }
}
