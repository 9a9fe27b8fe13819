import NIOCore
import Testing

@testable import SwitchyardBFD

@Suite struct BFDCodecTests {
    /// RFC 5880 §4.1 laid out by hand: version 1, diag 3, Up with P and C, mult 3, length 24,
    /// discriminators 0x01020304 / 0x0a0b0c0d, 300 ms, 250 ms, echo 0.
    static let upPacketBytes: [UInt8] = [
        0x23, 0xe8, 3, 24, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d,
        0x00, 0x04, 0x93, 0xe0, 0x00, 0x03, 0xd0, 0x90, 0, 0, 0, 0,
    ]
    static let upPacket = BFDControlPacket(
        diagnostic: .neighborSignaledSessionDown, state: .up, poll: true, controlPlaneIndependent: true,
        detectMultiplier: 3, myDiscriminator: 0x0102_0304, yourDiscriminator: 0x0a0b_0c0d,
        desiredMinTxInterval: 300_000, requiredMinRxInterval: 250_000)

    static func decode(_ bytes: [UInt8]) throws(BFDDiscardReason) -> BFDControlPacket {
        try BFDControlPacket(datagram: ByteBuffer(bytes: bytes))
    }

    @Test func decodesTheFieldsOfSection41() throws {
        #expect(try Self.decode(Self.upPacketBytes) == Self.upPacket)
    }

    @Test func encodesTheSameBytes() {
        var buffer = ByteBuffer()
        Self.upPacket.write(into: &buffer)
        #expect(Array(buffer.readableBytesView) == Self.upPacketBytes)
    }

    @Test(arguments: BFDState.allCases, [false, true])
    func roundTripsEveryStateAndFlag(state: BFDState, flag: Bool) throws {
        let packet = BFDControlPacket(
            diagnostic: BFDDiagnostic(rawValue: 31), state: state, poll: flag, final: !flag,
            controlPlaneIndependent: flag, demand: !flag, detectMultiplier: 255, myDiscriminator: .max,
            yourDiscriminator: state == .down || state == .adminDown ? 0 : 1, desiredMinTxInterval: .max,
            requiredMinRxInterval: 0, requiredMinEchoRxInterval: 7)
        var buffer = ByteBuffer()
        packet.write(into: &buffer)
        #expect(buffer.readableBytes == BFDWire.mandatoryLength)
        #expect(try BFDControlPacket(datagram: buffer) == packet)
    }

    /// A short read consumes nothing and returns nil, at every length below the packet's.
    @Test func oneByteAtATimeReturnsNilUntilWhole() throws {
        var buffer = ByteBuffer()
        for (index, byte) in Self.upPacketBytes.enumerated() {
            buffer.writeInteger(byte)
            let before = buffer.readerIndex
            let packet = try BFDControlPacket.read(from: &buffer)
            if index < Self.upPacketBytes.count - 1 {
                #expect(packet == nil)
                #expect(buffer.readerIndex == before)
            } else {
                #expect(packet == Self.upPacket)
                #expect(buffer.readableBytes == 0)
            }
        }
    }

    @Test func octetsBeyondLengthAreIgnored() throws {
        #expect(try Self.decode(Self.upPacketBytes + [0xde, 0xad]) == Self.upPacket)
    }

    static func mutated(_ change: (inout [UInt8]) -> Void) -> [UInt8] {
        var bytes = upPacketBytes
        change(&bytes)
        return bytes
    }

    /// Up with the A bit and this Length.
    static func authenticated(length: UInt8) -> [UInt8] {
        mutated {
            $0[1] = 0xc0 | 0x04
            $0[3] = length
        }
    }

    /// Every discard of RFC 5880 §6.8.6 that needs no session, each named.
    @Test(
        arguments: [
            (mutated { $0[0] = 0x43 }, BFDDiscardReason.badVersion),
            (mutated { $0[0] = 0x03 }, .badVersion),
            (mutated { $0[3] = 23 }, .badLength),
            (mutated { $0[3] = 30 }, .badLength),
            (Array(upPacketBytes.prefix(23)), .truncated),
            ([], .truncated),
            (mutated { $0[2] = 0 }, .zeroDetectMultiplier),
            (mutated { $0[1] |= 0x01 }, .multipoint),
            (mutated { $0.replaceSubrange(4..<8, with: [0, 0, 0, 0]) }, .zeroMyDiscriminator),
            (mutated { $0.replaceSubrange(8..<12, with: [0, 0, 0, 0]) }, .zeroYourDiscriminatorNotDown),
            (authenticated(length: 24), .badLength),
            (authenticated(length: 26) + [1, 2], .authenticationPresent),
        ])
    func discardsWithTheReason(bytes: [UInt8], reason: BFDDiscardReason) {
        #expect(throws: reason) { try Self.decode(bytes) }
    }

    @Test func zeroYourDiscriminatorIsFineWhileDownOrAdminDown() throws {
        for state: UInt8 in [0, 1] {
            let bytes = Self.mutated {
                $0[1] = state << 6
                $0.replaceSubrange(8..<12, with: [0, 0, 0, 0])
            }
            #expect(try Self.decode(bytes).yourDiscriminator == 0)
        }
    }

    @Test func unnamedDiagnosticsAreCarried() throws {
        let packet = try Self.decode(Self.mutated { $0[0] = 0x20 | 20 })
        #expect(packet.diagnostic.rawValue == 20)
        #expect(packet.diagnostic.description == "reserved diagnostic 20")
    }
}
