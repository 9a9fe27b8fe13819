import SwitchyardCore

/// Where LB nodes share stateful flows: the embedded journal for one node, Redis for several.
///
/// `write` throws only when the store cannot be reached (the caller keeps the writes and
/// retries); writes the store refuses (e.g. Redis out of memory) are counted in the result.
public protocol FlowStore: Sendable {
    var description: String { get }
    /// Whether other LB nodes write here too (then `follow` is worth running).
    var shared: Bool { get }
    func write(_ writes: [FlowStoreWrite]) async throws -> FlowStoreWriteResult
    /// Every live entry, for a node about to take traffic.
    func snapshot() async throws -> [FlowRecord]
    /// Entries other nodes announce, in batches, until the store connection ends (it then
    /// throws). A store that is not shared finishes at once.
    func follow() async throws -> AsyncThrowingStream<[FlowRecord], Error>
    /// What the store holds: entries and, where the store can say, bytes.
    func usage() async throws -> FlowStoreUsage
    func close() async
}

public struct FlowStoreWriteResult: Sendable, Equatable {
    public var refused = 0
    public var firstRefusal: String?
    public init(refused: Int = 0, firstRefusal: String? = nil) {
        self.refused = refused
        self.firstRefusal = firstRefusal
    }
}

public struct FlowStoreUsage: Sendable, Equatable {
    public var entries: Int
    public var bytes: Int
    public init(entries: Int, bytes: Int) {
        self.entries = entries
        self.bytes = bytes
    }
}

/// The Redis store. Writes go out as one pipelined batch on a long-lived connection (SET with EX,
/// PUBLISH for announced entries, DEL); the connection is re-opened on the next write after a
/// failure. Announcements arrive by subscription on a second connection.
public actor RedisFlowStore: FlowStore {
    public let settings: FlowStoreSettings
    private var client: RedisClient?
    public nonisolated var description: String { "redis \(settings.host):\(settings.port)" }
    public nonisolated var shared: Bool { true }

    public init(settings: FlowStoreSettings) {
        self.settings = settings
    }

    private func connection() async throws -> RedisClient {
        if let client { return client }
        let c = try await RedisClient.connect(host: settings.host, port: settings.port, user: settings.user, password: settings.password)
        client = c
        return c
    }

    private func send(_ commands: [[String]]) async throws -> [RESPValue] {
        do {
            return try await connection().send(commands)
        } catch {
            client?.close()
            client = nil
            throw error
        }
    }

    public func write(_ writes: [FlowStoreWrite]) async throws -> FlowStoreWriteResult {
        var commands: [[String]] = []
        commands.reserveCapacity(writes.count * 2)
        for write in writes {
            switch write {
            case .put(let record, let seconds, let announce):
                commands.append(["SET", record.storeKey, record.backend, "EX", "\(seconds)"])
                if announce { commands.append(["PUBLISH", FlowRecord.channel, record.message]) }
            case .delete(let record):
                commands.append(["DEL", record.storeKey])
            }
        }
        var result = FlowStoreWriteResult()
        for reply in try await send(commands) {
            if case .error(let message) = reply {
                result.refused += 1
                if result.firstRefusal == nil { result.firstRefusal = message }
            }
        }
        return result
    }

    /// Calls `body` with each SCAN page of flow keys.
    private func scanFlowKeys(count: Int, _ body: ([String]) async throws -> Void) async throws {
        var cursor = "0"
        repeat {
            let reply = try await send([["SCAN", cursor, "MATCH", FlowRecord.keyPattern, "COUNT", "\(count)"]])[0]
            guard case .array(let parts?) = reply, parts.count == 2, let next = parts[0].string,
                  case .array(let keys?) = parts[1] else { throw RedisClient.RedisError("unexpected SCAN reply: \(reply)") }
            cursor = next
            try await body(keys.compactMap(\.string))
        } while cursor != "0"
    }

    public func snapshot() async throws -> [FlowRecord] {
        var records: [FlowRecord] = []
        try await scanFlowKeys(count: 1000) { names in
            let values = try await send(names.map { ["GET", $0] })
            for (name, value) in zip(names, values) {
                if let backend = value.string, let record = FlowRecord(storeKey: name, backend: backend) { records.append(record) }
            }
        }
        return records
    }

    public nonisolated func follow() async throws -> AsyncThrowingStream<[FlowRecord], Error> {
        let messages = try await RedisClient.subscribe(host: settings.host, port: settings.port, user: settings.user,
                                                       password: settings.password, channels: [FlowRecord.channel])
        let (stream, continuation) = AsyncThrowingStream<[FlowRecord], Error>.makeStream()
        let task = Task {
            do {
                for try await batch in messages {
                    let records = batch.compactMap { FlowRecord(message: $0.1) }
                    if !records.isEmpty { continuation.yield(records) }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Entries (keys matching the flow pattern, counted by SCAN) and the server's used memory.
    public func usage() async throws -> FlowStoreUsage {
        var entries = 0
        try await scanFlowKeys(count: 10000) { entries += $0.count }
        let info = try await send([["INFO", "memory"]])[0].string ?? ""
        let used = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("used_memory:") }
            .flatMap { Int($0.dropFirst("used_memory:".count)) } ?? 0
        return FlowStoreUsage(entries: entries, bytes: used)
    }

    public func close() {
        client?.close()
        client = nil
    }
}
