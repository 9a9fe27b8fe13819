import Foundation
import NIOCore
import NIOPosix
import SwitchyardNet

/// The lab's client: holds N long-lived connections to a VIP, each sending `PING n` every
/// ~100 ms and expecting `PONG n BACKEND`, and accounts for every one. A connection has
/// survived when it never errored, never changed backend, and answered up to the end.
public actor TrafficClient {
    public struct ConnectionRecord: Sendable, Codable {
        public var id: Int
        public var backend: String?
        public var pongs: Int = 0
        public var lastPong: Double = 0
        public var error: String?
    }

    public struct Report: Sendable, Codable, Equatable {
        public var established: Int
        public var survived: Int
        public var failed: Int
        public var perBackend: [String: Int]
        public var failedPerBackend: [String: Int]
        public var failures: [String]
    }

    let host: String
    let port: Int
    private var records: [Int: ConnectionRecord] = [:]
    private var tasks: [Task<Void, Never>] = []
    private var stopped = false
    private let started = ContinuousClock.now

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    private func now() -> Double {
        let d = ContinuousClock.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Opens `count` connections; returns once each has had its first answer (or failed).
    public func establish(_ count: Int) async {
        for id in 0..<count {
            records[id] = ConnectionRecord(id: id)
            tasks.append(Task { await self.hold(id) })
            if id % 20 == 19 { try? await Task.sleep(for: .milliseconds(10)) }
        }
        for _ in 0..<100 {
            if records.values.allSatisfy({ $0.backend != nil || $0.error != nil }) { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    private func record(_ id: Int, backend: String) {
        guard var r = records[id] else { return }
        if let known = r.backend, known != backend, r.error == nil {
            r.error = "moved from \(known) to \(backend)"
        }
        r.backend = r.backend ?? backend
        r.pongs += 1
        r.lastPong = now()
        records[id] = r
    }

    private func fail(_ id: Int, _ reason: String) {
        guard !stopped, records[id]?.error == nil else { return }
        records[id]?.error = reason
    }

    private func isStopped() -> Bool { stopped }

    private func hold(_ id: Int) async {
        do {
            let channel = try await ConnectionClient.connect(host: host, port: port, timeout: .seconds(3))
            try await channel.executeThenClose { inbound, outbound in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        var seq = 0
                        while await !self.isStopped() {
                            try await outbound.write(ByteBuffer(string: "PING \(seq)\n"))
                            seq += 1
                            try await Task.sleep(for: .milliseconds(100))
                        }
                    }
                    group.addTask {
                        var pending = ""
                        for try await chunk in inbound {
                            pending += String(buffer: chunk)
                            while let newline = pending.firstIndex(of: "\n") {
                                let words = pending[..<newline].split(separator: " ")
                                pending = String(pending[pending.index(after: newline)...])
                                if words.count == 3, words[0] == "PONG" {
                                    await self.record(id, backend: String(words[2]))
                                }
                            }
                        }
                        if await !self.isStopped() { await self.fail(id, "closed by peer") }
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch {
            fail(id, "\(error)")
        }
    }

    /// Connections per backend right now.
    public func snapshot() -> [String: Int] {
        var counts: [String: Int] = [:]
        for r in records.values { counts[r.backend ?? (r.error == nil ? "pending" : "failed"), default: 0] += 1 }
        return counts
    }

    /// Stops sending, checks that every connection answered recently, and reports.
    public func finish() async -> Report {
        let deadline = now()
        try? await Task.sleep(for: .milliseconds(400))
        for (id, r) in records where r.error == nil && r.lastPong < deadline - 1.0 {
            records[id]?.error =
                r.backend == nil ? "never answered" : "silent for \(String(format: "%.1f", deadline - r.lastPong)) s"
        }
        stopped = true
        for task in tasks { task.cancel() }
        let established = records.values.filter { $0.backend != nil }
        var perBackend: [String: Int] = [:]
        var failedPerBackend: [String: Int] = [:]
        for r in established {
            perBackend[r.backend!, default: 0] += 1
            if r.error != nil { failedPerBackend[r.backend!, default: 0] += 1 }
        }
        let failures = records.values.filter { $0.error != nil }.sorted { $0.id < $1.id }
            .prefix(10).map { "conn \($0.id) (\($0.backend ?? "no backend")): \($0.error!)" }
        return Report(
            established: established.count, survived: established.filter { $0.error == nil }.count,
            failed: established.filter { $0.error != nil }.count, perBackend: perBackend,
            failedPerBackend: failedPerBackend, failures: Array(failures))
    }

    /// Connections per backend that have no error and answered within the last `seconds`: the
    /// ones still alive right now (a terminating pod's, just before it exits).
    public func alive(within seconds: Double = 1) -> [String: Int] {
        let cutoff = now() - seconds
        var counts: [String: Int] = [:]
        for r in records.values where r.error == nil && r.lastPong >= cutoff {
            if let backend = r.backend { counts[backend, default: 0] += 1 }
        }
        return counts
    }

    /// One connection, `WHO`: the backend that answered and the client address it saw; nil when
    /// no answer came.
    public static func whoami(host: String, port: Int) async -> (backend: String, client: String)? {
        do {
            let channel = try await ConnectionClient.connect(host: host, port: port, timeout: .seconds(2))
            let text = try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "WHO\n"))
                var text = ""
                for try await chunk in inbound {
                    text += String(buffer: chunk)
                    if text.contains("\n") { break }
                }
                return text
            }
            let words = text.split(whereSeparator: \.isWhitespace)
            guard words.count == 3, words[0] == "YOU" else { return nil }
            return (String(words[2]), String(words[1]))
        } catch {
            return nil
        }
    }

    /// `count` short connections, one PING each: which backends new connections reach.
    public static func probe(host: String, port: Int, count: Int) async -> [String: Int] {
        var result: [String: Int] = [:]
        for _ in 0..<count {
            let answer: String
            do {
                let channel = try await ConnectionClient.connect(host: host, port: port, timeout: .seconds(2))
                answer = try await channel.executeThenClose { inbound, outbound in
                    try await outbound.write(ByteBuffer(string: "PING 0\n"))
                    var text = ""
                    for try await chunk in inbound {
                        text += String(buffer: chunk)
                        if text.contains("\n") { break }
                    }
                    return text.split(separator: " ").dropFirst(2).first.map {
                        String($0.trimmingCharacters(in: .whitespacesAndNewlines))
                    } ?? "no answer"
                }
            } catch {
                answer = "failed"
            }
            result[answer, default: 0] += 1
        }
        return result
    }

    /// `count` HTTP GETs of `path`; answers per backend (for `/`) and bytes received.
    public static func http(host: String, port: Int, count: Int, path: String = "/") async -> (
        perBackend: [String: Int], bytes: Int
    ) {
        var result: [String: Int] = [:]
        var bytes = 0
        for _ in 0..<count {
            do {
                let channel = try await ConnectionClient.connect(host: host, port: port, timeout: .seconds(2))
                let (text, n) = try await channel.executeThenClose { inbound, outbound in
                    let h = host.contains(":") ? "[\(host)]" : host
                    try await outbound.write(
                        ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: \(h)\r\nConnection: close\r\n\r\n"))
                    var head = ""
                    var total = 0
                    var expected: Int?
                    for try await chunk in inbound {
                        total += chunk.readableBytes
                        if head.utf8.count < 512 { head += String(buffer: chunk) }
                        if expected == nil {
                            if let end = head.range(of: "\r\n\r\n"),
                                let line = head[..<end.lowerBound].split(separator: "\r\n").first(where: {
                                    $0.lowercased().hasPrefix("content-length:")
                                }),
                                let n = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces))
                            {
                                expected =
                                    head.utf8.distance(
                                        from: head.utf8.startIndex, to: end.upperBound.samePosition(in: head.utf8)!) + n
                            }
                        }
                        if let expected, total >= expected { break }
                    }
                    return (
                        head,
                        total
                            - (head.range(of: "\r\n\r\n").map {
                                head.utf8.distance(
                                    from: head.utf8.startIndex, to: $0.upperBound.samePosition(in: head.utf8)!)
                            } ?? 0)
                    )
                }
                bytes += n
                let backend = text.components(separatedBy: "backend ").dropFirst().first?.split(separator: "\n").first
                    .map(String.init)
                result[backend ?? "bulk", default: 0] += 1
            } catch {
                result["failed", default: 0] += 1
            }
        }
        return (result, bytes)
    }
}
