import NIOCore

/// A RESP2 value (https://redis.io/docs/latest/develop/reference/protocol-spec/).
public enum RESPValue: Sendable, Equatable {
    case simple(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8]?) // nil: the null bulk string
    case array([RESPValue]?)

    public var string: String? {
        switch self {
        case .simple(let s): s
        case .bulk(let b?): String(decoding: b, as: UTF8.self)
        case .integer(let i): String(i)
        default: nil
        }
    }
}

/// RESP encoding and decoding on ByteBuffer, a symmetric pair. Decoding a value that has not
/// fully arrived consumes nothing and returns nil; malformed input throws, naming the byte.
public enum RESPCodec {
    /// Limits a peer cannot push past (a bad or hostile server must not exhaust memory).
    public static let maxBulkLength = 512 * 1024 * 1024 // Redis' own proto-max-bulk-len
    public static let maxArrayLength = 1 << 20
    public static let maxDepth = 16

    public struct ProtocolError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// A command as an array of bulk strings.
    public static func writeCommand(_ arguments: [String], into buffer: inout ByteBuffer) {
        buffer.writeString("*\(arguments.count)\r\n")
        for argument in arguments {
            buffer.writeString("$\(argument.utf8.count)\r\n")
            buffer.writeString(argument)
            buffer.writeString("\r\n")
        }
    }

    public static func write(_ value: RESPValue, into buffer: inout ByteBuffer) {
        switch value {
        case .simple(let s): buffer.writeString("+\(s)\r\n")
        case .error(let s): buffer.writeString("-\(s)\r\n")
        case .integer(let i): buffer.writeString(":\(i)\r\n")
        case .bulk(nil): buffer.writeString("$-1\r\n")
        case .bulk(let b?):
            buffer.writeString("$\(b.count)\r\n")
            buffer.writeBytes(b)
            buffer.writeString("\r\n")
        case .array(nil): buffer.writeString("*-1\r\n")
        case .array(let items?):
            buffer.writeString("*\(items.count)\r\n")
            for item in items { write(item, into: &buffer) }
        }
    }

    /// One value from the front of `buffer`, or nil (nothing consumed) if it is incomplete.
    public static func read(from buffer: inout ByteBuffer) throws(ProtocolError) -> RESPValue? {
        var copy = buffer
        guard let value = try parse(&copy, depth: 0) else { return nil }
        buffer = copy
        return value
    }

    /// The line up to CRLF, or nil if it has not all arrived. A CR must start the CRLF (RESP lines
    /// carry no CR or LF): waiting for more after a bare CR would stall the connection for good.
    private static func line(_ buffer: inout ByteBuffer) throws(ProtocolError) -> String? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: UInt8(ascii: "\r")), view.index(after: cr) < view.endIndex else {
            return nil
        }
        guard view[view.index(after: cr)] == UInt8(ascii: "\n") else {
            throw ProtocolError(description: "RESP line has a CR without LF at byte \(cr)")
        }
        let length = cr - view.startIndex
        let text = buffer.readString(length: length)
        buffer.moveReaderIndex(forwardBy: 2)
        return text
    }

    private static func parse(_ buffer: inout ByteBuffer, depth: Int) throws(ProtocolError) -> RESPValue? {
        guard depth < maxDepth else { throw ProtocolError(description: "RESP nesting deeper than \(maxDepth)") }
        let start = buffer.readerIndex
        guard let type = buffer.readInteger(as: UInt8.self) else { return nil }
        guard let text = try line(&buffer) else { return nil }
        switch type {
        case UInt8(ascii: "+"): return .simple(text)
        case UInt8(ascii: "-"): return .error(text)
        case UInt8(ascii: ":"):
            guard let n = Int(text) else {
                throw ProtocolError(
                    description: "RESP integer '\(text.prefix(20))' at byte \(start + 1) is not a number")
            }
            return .integer(n)
        case UInt8(ascii: "$"):
            guard let n = Int(text), n >= -1, n <= maxBulkLength else {
                throw ProtocolError(
                    description: "RESP bulk length '\(text.prefix(20))' at byte \(start + 1) is invalid")
            }
            if n == -1 { return .bulk(nil) }
            guard buffer.readableBytes >= n + 2, let bytes = buffer.readBytes(length: n) else { return nil }
            guard buffer.readString(length: 2) == "\r\n" else {
                throw ProtocolError(description: "RESP bulk string at byte \(start) not terminated by CRLF")
            }
            return .bulk(bytes)
        case UInt8(ascii: "*"):
            guard let n = Int(text), n >= -1, n <= maxArrayLength else {
                throw ProtocolError(
                    description: "RESP array length '\(text.prefix(20))' at byte \(start + 1) is invalid")
            }
            if n == -1 { return .array(nil) }
            var items: [RESPValue] = []
            // Reserve only what the bytes at hand can hold (a value takes at least 3 bytes): a
            // 12-byte header must not make us allocate for a million values that never arrive.
            items.reserveCapacity(min(n, buffer.readableBytes / 3))
            for _ in 0..<n {
                guard let item = try parse(&buffer, depth: depth + 1) else { return nil }
                items.append(item)
            }
            return .array(items)
        default:
            throw ProtocolError(
                description: "RESP type byte 0x\(String(type, radix: 16)) at byte \(start) is not one of + - : $ *")
        }
    }
}
