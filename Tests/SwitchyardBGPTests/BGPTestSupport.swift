import NIOCore
import SwitchyardCore

@testable import SwitchyardBGP

/// Small builders shared by the suites; force unwraps only on literals written in the tests.
enum T {
    static let external = BGPCodecContext(fourOctetASN: true, peerIsExternal: true)
    static let internalPeer = BGPCodecContext(fourOctetASN: true, peerIsExternal: false)

    static func prefix(_ text: String) -> IPPrefix { IPPrefix(text)! }
    static func v4(_ text: String) -> IPv4Address { IPv4Address(text)! }
    static func v6(_ text: String) -> IPv6Address { IPv6Address(text)! }

    static func encode(_ message: BGPMessage, _ context: BGPCodecContext = external) -> ByteBuffer {
        var buffer = ByteBuffer()
        message.write(into: &buffer, context: context)
        return buffer
    }

    /// A whole message from a body: marker, the right length, the type.
    static func frame(type: UInt8, body: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeRepeatingByte(0xff, count: 16)
        buffer.writeInteger(UInt16(19 + body.count))
        buffer.writeInteger(type)
        buffer.writeBytes(body)
        return buffer
    }

    /// An UPDATE body from its three fields, the length fields filled in.
    static func updateBody(withdrawn: [UInt8] = [], attributes: [UInt8], nlri: [UInt8]) -> [UInt8] {
        [UInt8(withdrawn.count >> 8), UInt8(withdrawn.count & 0xff)] + withdrawn
            + [UInt8(attributes.count >> 8), UInt8(attributes.count & 0xff)] + attributes + nlri
    }

    /// ORIGIN IGP, AS_PATH [65002] (4-octet), NEXT_HOP 192.0.2.1: a valid IPv4 route's attributes.
    static let validV4Attributes: [UInt8] =
        [0x40, 1, 1, 0] + [0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xea]
        + [0x40, 3, 4, 192, 0, 2, 1]
    /// NLRI 198.51.100.0/24.
    static let nlri24: [UInt8] = [24, 198, 51, 100]

    static func decode(_ buffer: ByteBuffer, _ context: BGPCodecContext = external) throws(BGPDecodeError)
        -> BGPMessage?
    {
        var copy = buffer
        return try BGPMessage.read(from: &copy, context: context)
    }

    static func decodeUpdate(
        attributes: [UInt8], nlri: [UInt8] = nlri24, withdrawn: [UInt8] = [],
        context: BGPCodecContext = external
    ) throws(BGPDecodeError) -> BGPUpdate? {
        let message = try decode(
            frame(
                type: 2,
                body: updateBody(
                    withdrawn: withdrawn, attributes: attributes,
                    nlri: nlri)), context)
        guard case .update(let update) = message else { return nil }
        return update
    }
}
