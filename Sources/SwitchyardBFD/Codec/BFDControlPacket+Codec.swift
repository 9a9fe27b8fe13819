import NIOCore

extension BFDControlPacket {
    private enum Flag {
        static let poll: UInt8 = 0x20
        static let final: UInt8 = 0x10
        static let controlPlaneIndependent: UInt8 = 0x08
        static let authenticationPresent: UInt8 = 0x04
        static let demand: UInt8 = 0x02
        static let multipoint: UInt8 = 0x01
    }

    /// Appends the 24-octet mandatory section (RFC 5880 §4.1), version 1, A and M clear.
    public func write(into buffer: inout ByteBuffer) {
        buffer.writeInteger(BFDWire.version << 5 | diagnostic.rawValue)
        var flags = state.rawValue << 6
        if poll { flags |= Flag.poll }
        if final { flags |= Flag.final }
        if controlPlaneIndependent { flags |= Flag.controlPlaneIndependent }
        if demand { flags |= Flag.demand }
        buffer.writeInteger(flags)
        buffer.writeInteger(detectMultiplier)
        buffer.writeInteger(UInt8(BFDWire.mandatoryLength))
        buffer.writeInteger(myDiscriminator)
        buffer.writeInteger(yourDiscriminator)
        buffer.writeInteger(desiredMinTxInterval)
        buffer.writeInteger(requiredMinRxInterval)
        buffer.writeInteger(requiredMinEchoRxInterval)
    }

    /// Reads one packet that the Length field says is wholly in `buffer` and consumes exactly
    /// Length octets; returns nil and consumes nothing while fewer are readable (STYLE habit 3).
    /// Throws, consuming nothing, for a packet RFC 5880 §6.8.6 says to discard without looking
    /// at any session. The checks that need a session (Your Discriminator lookup, AdminDown) are
    /// the receiver's and the state machine's.
    public static func read(from buffer: inout ByteBuffer) throws(BFDDiscardReason) -> BFDControlPacket? {
        let start = buffer.readerIndex
        guard buffer.readableBytes >= 4,
            let versionAndDiagnostic = buffer.getInteger(at: start, as: UInt8.self),
            let flags = buffer.getInteger(at: start + 1, as: UInt8.self),
            let detectMultiplier = buffer.getInteger(at: start + 2, as: UInt8.self),
            let length = buffer.getInteger(at: start + 3, as: UInt8.self)
        else { return nil }
        guard versionAndDiagnostic >> 5 == BFDWire.version else { throw .badVersion }
        let authenticated = flags & Flag.authenticationPresent != 0
        let minimum = authenticated ? BFDWire.minimumAuthenticatedLength : BFDWire.mandatoryLength
        guard Int(length) >= minimum else { throw .badLength }
        guard buffer.readableBytes >= Int(length),
            let myDiscriminator = buffer.getInteger(at: start + 4, as: UInt32.self),
            let yourDiscriminator = buffer.getInteger(at: start + 8, as: UInt32.self),
            let desiredMinTx = buffer.getInteger(at: start + 12, as: UInt32.self),
            let requiredMinRx = buffer.getInteger(at: start + 16, as: UInt32.self),
            let requiredMinEchoRx = buffer.getInteger(at: start + 20, as: UInt32.self)
        else { return nil }
        guard detectMultiplier != 0 else { throw .zeroDetectMultiplier }
        guard flags & Flag.multipoint == 0 else { throw .multipoint }
        guard myDiscriminator != 0 else { throw .zeroMyDiscriminator }
        // The two bits always decode: every value 0–3 is a state.
        let state = BFDState(rawValue: flags >> 6) ?? .down
        guard yourDiscriminator != 0 || state == .down || state == .adminDown else {
            throw .zeroYourDiscriminatorNotDown
        }
        guard !authenticated else { throw .authenticationPresent }
        buffer.moveReaderIndex(forwardBy: Int(length))
        return BFDControlPacket(
            diagnostic: BFDDiagnostic(rawValue: versionAndDiagnostic), state: state,
            poll: flags & Flag.poll != 0, final: flags & Flag.final != 0,
            controlPlaneIndependent: flags & Flag.controlPlaneIndependent != 0, demand: flags & Flag.demand != 0,
            detectMultiplier: detectMultiplier, myDiscriminator: myDiscriminator,
            yourDiscriminator: yourDiscriminator, desiredMinTxInterval: desiredMinTx,
            requiredMinRxInterval: requiredMinRx, requiredMinEchoRxInterval: requiredMinEchoRx)
    }

    /// One UDP payload as one packet (RFC 5881: one packet per datagram): a payload too short for
    /// its Length is discarded, and octets beyond Length are ignored.
    public init(datagram: ByteBuffer) throws(BFDDiscardReason) {
        var buffer = datagram
        guard let packet = try Self.read(from: &buffer) else {
            throw datagram.readableBytes < BFDWire.mandatoryLength ? .truncated : .badLength
        }
        self = packet
    }
}
