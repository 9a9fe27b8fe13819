import NIOCore
import Testing

@testable import SwitchyardStore

@Suite struct RESPCodecTests {
    static let values: [RESPValue] = [
        .simple("OK"), .error("ERR wrong"), .integer(-42), .bulk(Array("héllo\r\n".utf8)), .bulk(nil), .bulk([]),
        .array([.integer(1), .array([.bulk(Array("x".utf8)), .simple("y")]), .bulk(nil)]), .array(nil), .array([]),
    ]

    @Test func roundTrip() throws {
        for value in Self.values {
            var buffer = ByteBuffer()
            RESPCodec.write(value, into: &buffer)
            #expect(try RESPCodec.read(from: &buffer) == value)
            #expect(buffer.readableBytes == 0)
        }
    }

    /// Fed one byte at a time, nothing is consumed until a value is complete.
    @Test func oneByteAtATime() throws {
        var whole = ByteBuffer()
        for value in Self.values { RESPCodec.write(value, into: &whole) }
        var buffer = ByteBuffer()
        var decoded: [RESPValue] = []
        for byte in whole.readableBytesView {
            buffer.writeInteger(byte)
            while let value = try RESPCodec.read(from: &buffer) { decoded.append(value) }
        }
        #expect(decoded == Self.values)
    }

    @Test func commandsAreArraysOfBulkStrings() throws {
        var buffer = ByteBuffer()
        RESPCodec.writeCommand(["SET", "k", "v v"], into: &buffer)
        #expect(String(buffer: buffer) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv v\r\n")
    }

    @Test(arguments: [
        ("!x\r\n", "type byte 0x21 at byte 0"), (":abc\r\n", "integer 'abc'"), ("$-5\r\n", "bulk length '-5'"),
        ("$3\r\nabcXY", "not terminated by CRLF"), ("*99999999\r\n", "array length"),
        ("+a\rb\r\n", "CR without LF at byte 2"),
    ])
    func malformedInputSaysWhere(_ input: String, _ message: String) {
        var buffer = ByteBuffer(string: input)
        #expect { _ = try RESPCodec.read(from: &buffer) } throws: { "\($0)".contains(message) }
    }

    @Test func tooDeepIsRefused() {
        var buffer = ByteBuffer(string: String(repeating: "*1\r\n", count: 40) + ":1\r\n")
        #expect(throws: RESPCodec.ProtocolError.self) { _ = try RESPCodec.read(from: &buffer) }
    }
}
