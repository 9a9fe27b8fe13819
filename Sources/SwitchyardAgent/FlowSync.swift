import Foundation
import Logging
import SwitchyardABI
import SwitchyardCore
import SwitchyardDatapath
import SwitchyardStore

/// Stateful mode's plumbing: the datapath's new-flow reports go to the store (pipelined batches
/// of SET with TTL + PUBLISH), and other nodes' flows come back by subscription into this node's
/// flow table. If the store is down, forwarding carries on with local entries and Maglev; reports
/// wait in a bounded queue and both sides reconnect with backoff.
struct FlowSync {
    let agent: Agent
    let store: FlowStoreSettings
    let logger: Logger
    static let maxPending = 200_000

    /// The store's entries, for a node about to take traffic.
    static func snapshot(_ store: FlowStoreSettings) async throws -> [FlowRecord] {
        let client = try await RedisClient.connect(host: store.host, port: store.port, user: store.user, password: store.password)
        defer { client.close() }
        var cursor = "0", records: [FlowRecord] = []
        repeat {
            let reply = try await client.send([["SCAN", cursor, "MATCH", FlowRecord.keyPattern, "COUNT", "1000"]])[0]
            guard case .array(let parts?) = reply, parts.count == 2, let next = parts[0].string,
                  case .array(let keys?) = parts[1] else { throw RedisClient.RedisError("unexpected SCAN reply") }
            cursor = next
            let names = keys.compactMap(\.string)
            let values = try await client.send(names.map { ["GET", $0] })
            for (name, value) in zip(names, values) {
                if let backend = value.string, let record = FlowRecord(storeKey: name, backend: backend) { records.append(record) }
            }
        } while cursor != "0"
        return records
    }

    func run() async {
        let (batches, sink) = AsyncStream<[sy_flow_event]>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let reader: FlowEventReader
        do { reader = try FlowEventReader(datapath: agent.datapath) } catch {
            logger.error("flow sharing off: cannot read the datapath's flow reports", metadata: ["error": "\(error)"])
            return
        }
        let polling = Thread {
            while !Thread.current.isCancelled {
                let events = reader.poll(timeoutMs: 50)
                if !events.isEmpty { sink.yield(events) }
            }
        }
        polling.start()
        defer { polling.cancel() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await publish(batches) }
            group.addTask { await follow() }
            await group.waitForAll()
        }
    }

    private func backoff(_ attempt: Int) async {
        try? await Task.sleep(for: .milliseconds(min(5000, 100 << min(attempt, 6))))
    }

    private func publish(_ batches: AsyncStream<[sy_flow_event]>) async {
        var client: RedisClient?
        var pending: [FlowRecord] = []
        var failures = 0
        for await events in batches {
            pending += await agent.records(for: events)
            if pending.count > Self.maxPending {
                logger.warning("flow store unreachable: oldest reports dropped", metadata: ["dropped": "\(pending.count - Self.maxPending)"])
                pending.removeFirst(pending.count - Self.maxPending)
            }
            do {
                if client == nil {
                    client = try await RedisClient.connect(host: store.host, port: store.port, user: store.user, password: store.password)
                    if failures > 0 { logger.notice("flow store reachable again", metadata: ["store": "\(store.host):\(store.port)", "pending": "\(pending.count)"]) }
                    failures = 0
                }
                var commands: [[String]] = []
                for record in pending {
                    commands.append(["SET", record.storeKey, record.backend, "EX", "\(store.ttlSeconds)"])
                    commands.append(["PUBLISH", FlowRecord.channel, record.message])
                }
                _ = try await client!.send(commands)
                pending.removeAll(keepingCapacity: true)
            } catch {
                client?.close()
                client = nil
                if failures == 0 {
                    logger.error("flow store unreachable; forwarding continues on local entries", metadata: ["store": "\(store.host):\(store.port)", "error": "\(error)"])
                }
                failures += 1
                await backoff(failures)
            }
        }
    }

    private func follow() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let messages = try await RedisClient.subscribe(host: store.host, port: store.port, user: store.user, password: store.password,
                                                               channels: [FlowRecord.channel])
                // Entries published while we were away are in the keys.
                if failures > 0 { await agent.install(try await Self.snapshot(store)) }
                failures = 0
                for try await (_, message) in messages {
                    if let record = FlowRecord(message: message) { await agent.install([record]) }
                }
            } catch {
                if failures == 0 { logger.error("flow store subscription lost", metadata: ["error": "\(error)"]) }
                failures += 1
                await backoff(failures)
            }
        }
    }
}
