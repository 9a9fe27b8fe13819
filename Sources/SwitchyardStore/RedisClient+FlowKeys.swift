import SwitchyardCore

/// The long reads every Redis store makes of one server: its flow entries and its usage.
extension RedisClient {
    /// Calls `body` with each SCAN page of flow keys (`FlowRecord.keyPattern`).
    func scanFlowKeys(count: Int, _ body: ([String]) async throws -> Void) async throws {
        var cursor = "0"
        repeat {
            let scan = ["SCAN", cursor, "MATCH", FlowRecord.keyPattern, "COUNT", "\(count)"]
            let reply = try await send([scan])[0]
            if let error = reply.redisError { throw error }
            guard case .array(let parts?) = reply, parts.count == 2, let next = parts[0].string,
                case .array(let keys?) = parts[1]
            else {
                throw RedisClientError.unexpectedReply(command: "SCAN", reply: "\(reply)")
            }
            cursor = next
            try await body(keys.compactMap(\.string))
        } while cursor != "0"
    }

    /// The server's flow entries, a SCAN page and its pipelined GETs at a time. A key of another
    /// type (another writer's: WRONGTYPE) is skipped; any other error reply — LOADING, a
    /// redirect (the slot moved during the scan), authentication — fails the read, to be tried
    /// again.
    func flowSnapshot() async throws -> [FlowRecord] {
        var records: [FlowRecord] = []
        try await scanFlowKeys(count: 1000) { names in
            let values = try await send(names.map { ["GET", $0] })
            for (name, value) in zip(names, values) {
                if let error = value.redisError {
                    if error.kind == .other { continue }
                    throw error
                }
                if let backend = value.string, let record = FlowRecord(storeKey: name, backend: backend) {
                    records.append(record)
                }
            }
        }
        return records
    }

    /// The server's flow entries (counted by SCAN) and its used memory.
    func flowUsage() async throws -> FlowStoreUsage {
        var entries = 0
        try await scanFlowKeys(count: 10000) { entries += $0.count }
        let reply = try await send([["INFO", "memory"]])[0]
        if let error = reply.redisError { throw error }
        let used =
            (reply.string ?? "").split(whereSeparator: \.isNewline).first { $0.hasPrefix("used_memory:") }
            .flatMap { Int($0.dropFirst("used_memory:".count)) } ?? 0
        return FlowStoreUsage(entries: entries, bytes: used)
    }
}
