/// Cuts a watch response body into events. The server writes one JSON object per line, but the
/// transport chunks it as it likes: one event may arrive in many pieces and one piece may carry many
/// events. Bounded: a line longer than `limit` is an error, not unbounded memory.
public struct WatchLineSplitter: Sendable {
    public let limit: Int
    private var pending: [UInt8] = []

    public init(limit: Int = 16 << 20) { self.limit = limit }

    /// Appends a piece of the body and returns every complete line in it (blank lines skipped).
    public mutating func append(_ bytes: some Collection<UInt8>) throws -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = bytes.startIndex
        while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            try take(bytes[start..<newline])
            if pending.contains(where: { !Self.isSpace($0) }) { lines.append(pending) }
            pending.removeAll(keepingCapacity: true)
            start = bytes.index(after: newline)
        }
        try take(bytes[start...])
        return lines
    }

    private mutating func take(_ piece: some Collection<UInt8>) throws {
        guard pending.count + piece.count <= limit else {
            pending.removeAll()
            throw WatchDecodingError.lineTooLong(limit: limit)
        }
        pending.append(contentsOf: piece)
    }

    /// The last line, when the stream ended without a newline after it.
    public mutating func finish() -> [UInt8]? {
        defer { pending.removeAll() }
        return pending.contains(where: { !Self.isSpace($0) }) ? pending : nil
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\t")
    }
}
