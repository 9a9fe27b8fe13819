import Glibc
import SwitchyardCore
import Synchronization

/// The flow store of a single LB node: an append-only journal on local disk plus an in-memory
/// index, so an agent restart or a reboot (which wipes the pinned maps) gets its flows back.
/// Nothing to install or run.
///
/// Journal lines (tab-separated; a torn last line from a crash is skipped):
///   P <expires, unix s> <store key> <backend>      put
///   D <store key>                                  delete
/// The journal is rewritten (to a temporary file, then renamed) when it holds more than twice
/// the live entries. It is flushed to disk at most once a second. Beyond `maxEntries`, the
/// entries closest to expiry are dropped first: new flows that were never refreshed (a flood)
/// before established ones.
public actor EmbeddedFlowStore: FlowStore {
    struct Entry {
        var backend: String
        var expires: Int
    }

    public let path: String
    public let maxEntries: Int
    private var entries: [String: Entry] = [:]
    private var fd: Int32 = -1
    private var journalLines = 0
    private var lastSync = 0
    private let clock: @Sendable () -> Int
    public private(set) var loadReport = LoadReport()
    public private(set) var evicted = 0
    public nonisolated var description: String { "embedded \(path)" }
    public nonisolated var shared: Bool { false }
    /// `run()` waits on this until `close()`: the store owns no connection, but its owner's task
    /// group should see it run for as long as a remote store would.
    private nonisolated let closing: AsyncStream<Never>.Continuation
    private nonisolated let closed: Mutex<AsyncStream<Never>?>

    public struct LoadReport: Sendable, Equatable {
        public var lines = 0, live = 0, expired = 0, malformed = 0
        public var firstMalformed: String?
    }

    public struct StoreError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Opens (creating if needed) the journal and loads its live entries.
    public init(
        path: String, maxEntries: Int = FlowStoreSettings.defaultMaxEntries,
        clock: @escaping @Sendable () -> Int = { Int(time(nil)) }
    ) throws {
        self.path = path
        self.maxEntries = maxEntries
        self.clock = clock
        let (closedStream, closing) = AsyncStream<Never>.makeStream()
        self.closing = closing
        self.closed = Mutex(closedStream)
        var report = LoadReport()
        var loaded: [String: Entry] = [:]
        if let text = Self.readFile(path) {
            var number = 0
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                number += 1
                guard !line.isEmpty else { continue }
                report.lines += 1
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                if fields.first == "P", fields.count == 4, let expires = Int(fields[1]),
                    FlowRecord(storeKey: String(fields[2]), backend: String(fields[3])) != nil
                {
                    loaded[String(fields[2])] = Entry(backend: String(fields[3]), expires: expires)
                } else if fields.first == "D", fields.count == 2 {
                    loaded[String(fields[1])] = nil
                } else {
                    report.malformed += 1
                    if report.firstMalformed == nil { report.firstMalformed = "\(path):\(number): \(line.prefix(80))" }
                }
            }
        }
        let now = clock()
        let before = loaded.count
        loaded = loaded.filter { $0.value.expires > now }
        report.expired = before - loaded.count
        report.live = loaded.count
        entries = loaded
        loadReport = report
        try Self.rewrite(path: path, entries: loaded)
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else {
            throw StoreError(description: "cannot open flow journal \(path): \(String(cString: strerror(errno)))")
        }
        journalLines = loaded.count
    }

    private static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes the live entries to `path` atomically (temporary file, fsync, rename).
    private static func rewrite(path: String, entries: [String: Entry]) throws {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError(description: "cannot write flow journal \(tmp): \(String(cString: strerror(errno)))")
        }
        var text = ""
        text.reserveCapacity(entries.count * 128)
        for (key, entry) in entries { text += "P\t\(entry.expires)\t\(key)\t\(entry.backend)\n" }
        let ok = writeAll(fd, text) && fsync(fd) == 0
        Glibc.close(fd)
        guard ok, rename(tmp, path) == 0 else {
            throw StoreError(description: "cannot write flow journal \(path): \(String(cString: strerror(errno)))")
        }
    }

    private static func writeAll(_ fd: Int32, _ text: String) -> Bool {
        var text = text
        return text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 { if errno == EINTR { continue } else { return false } }
                offset += n
            }
            return true
        }
    }

    public func write(_ writes: [FlowStoreWrite]) throws -> FlowStoreWriteResult {
        guard !writes.isEmpty else { return FlowStoreWriteResult() }
        let now = clock()
        var text = ""
        for write in writes {
            switch write {
            case .put(let record, let seconds, _):
                let key = record.storeKey
                let expires = now + seconds
                entries[key] = Entry(backend: record.backend, expires: expires)
                text += "P\t\(expires)\t\(key)\t\(record.backend)\n"
            case .delete(let record):
                let key = record.storeKey
                guard entries.removeValue(forKey: key) != nil else { continue }
                text += "D\t\(key)\n"
            }
            journalLines += 1
        }
        guard Self.writeAll(fd, text) else {
            throw StoreError(description: "cannot append to flow journal \(path): \(String(cString: strerror(errno)))")
        }
        enforceBound(now: now)
        if journalLines > 2 * entries.count + 100_000 { try compact(now: now) }
        // Flushed at most once per second of the store's clock (an input, like every time
        // here): a crash loses at most the last second of writes, which the next refresh repeats.
        if now != lastSync {
            fdatasync(fd)
            lastSync = now
        }
        return FlowStoreWriteResult(written: writes.count)
    }

    /// Over the bound: expired entries go, then those closest to expiry (1% headroom, so the
    /// sort is paid once per many inserts).
    private func enforceBound(now: Int) {
        guard entries.count > maxEntries else { return }
        let before = entries.count
        entries = entries.filter { $0.value.expires > now }
        if entries.count > maxEntries {
            let excess = entries.count - maxEntries + maxEntries / 100
            for (key, _) in entries.sorted(by: { $0.value.expires < $1.value.expires }).prefix(excess) {
                entries[key] = nil
            }
        }
        evicted += before - entries.count
    }

    private func compact(now: Int) throws {
        entries = entries.filter { $0.value.expires > now }
        try Self.rewrite(path: path, entries: entries)
        Glibc.close(fd)
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else {
            throw StoreError(description: "cannot reopen flow journal \(path): \(String(cString: strerror(errno)))")
        }
        journalLines = entries.count
    }

    public func snapshot() -> [FlowRecord] {
        let now = clock()
        return entries.compactMap { key, entry in
            entry.expires > now ? FlowRecord(storeKey: key, backend: entry.backend) : nil
        }
    }

    /// Returns at `close()` or cancellation; throws if already running.
    public nonisolated func run() async throws {
        guard let stream = closed.withLock({ $0.take() }) else {
            throw StoreError(description: "flow journal \(path): run() is already running")
        }
        for await _ in stream {}
    }

    /// No other node writes here: the announcements end at once.
    public nonisolated func follow<T>(_ body: (FlowAnnouncements) async throws -> sending T) async throws -> sending T {
        try await body(FlowAnnouncements(nil))
    }

    public func usage() -> FlowStoreUsage {
        var st = stat()
        let bytes = stat(path, &st) == 0 ? Int(st.st_size) : 0
        return FlowStoreUsage(entries: entries.count, bytes: bytes)
    }

    /// The remaining lifetime of an entry, in seconds (tests, status).
    public func secondsLeft(_ record: FlowRecord) -> Int? {
        entries[record.storeKey].map { $0.expires - clock() }
    }

    public func close() {
        closing.finish()
        if fd >= 0 {
            fdatasync(fd)
            Glibc.close(fd)
            fd = -1
        }
    }
}
