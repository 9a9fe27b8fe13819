import NIOCore
import SwitchyardCore

/// An OPEN (RFC 4271 §4.2) with its capabilities (RFC 5492). Holds the wire fields; the session
/// state machine judges them (peer AS, identifier, hold time).
public struct BGPOpen: Hashable, Sendable {
    public var version: UInt8
    /// The 2-octet My AS field: the ASN, or AS_TRANS when it does not fit (RFC 6793 §4.1).
    public var myAS: UInt16
    /// Seconds; 0 or at least 3 (checked by the session, RFC 4271 §6.2).
    public var holdTime: UInt16
    public var identifier: IPv4Address
    /// Every capability of every capabilities parameter, in order (FRR sends one per parameter,
    /// BIRD all in one).
    public var capabilities: [BGPCapability]

    public init(
        version: UInt8 = BGPWire.version, myAS: UInt16, holdTime: UInt16, identifier: IPv4Address,
        capabilities: [BGPCapability]
    ) {
        self.version = version
        self.myAS = myAS
        self.holdTime = holdTime
        self.identifier = identifier
        self.capabilities = capabilities
    }

    /// Our OPEN: My AS is AS_TRANS exactly when the ASN exceeds 65535 (RFC 6793 §4.1), and the
    /// 4-octet ASN capability always carries the real one.
    public init(asn: UInt32, holdTime: UInt16, identifier: IPv4Address, families: [BGPAddressFamily]) {
        let myAS = asn > UInt32(UInt16.max) ? BGPWire.asTrans : UInt16(asn)
        let capabilities = families.map { BGPCapability.multiprotocol($0) } + [.routeRefresh, .fourOctetASN(asn)]
        self.init(myAS: myAS, holdTime: holdTime, identifier: identifier, capabilities: capabilities)
    }

    /// The speaker's ASN: from the 4-octet capability when present (RFC 6793 §4.1), else My AS.
    public var autonomousSystem: UInt32 {
        for case .fourOctetASN(let asn) in capabilities { return asn }
        return UInt32(myAS)
    }

    public var supportsFourOctetASN: Bool {
        capabilities.contains { if case .fourOctetASN = $0 { true } else { false } }
    }

    public var supportsRouteRefresh: Bool { capabilities.contains(.routeRefresh) }

    /// The AFI/SAFIs the speaker offers; none listed means IPv4 unicast only (RFC 4760 §8).
    public var families: Set<BGPAddressFamily> {
        var families = Set<BGPAddressFamily>()
        for case .multiprotocol(let family) in capabilities { families.insert(family) }
        return families.isEmpty ? [.ipv4Unicast] : families
    }
}

extension BGPOpen {
    /// Reads the body after the header (exactly the message's bytes). The framing guaranteed the
    /// fixed part; the optional parameters must add up to the rest.
    static func read(body: inout ByteBuffer) throws(BGPDecodeError) -> BGPOpen {
        let malformed = BGPDecodeError.reset(BGPNotification.Code.open, BGPNotification.OpenSubcode.unspecific)
        guard let version = body.readInteger(as: UInt8.self), let myAS = body.readInteger(as: UInt16.self),
            let holdTime = body.readInteger(as: UInt16.self), let identifier = body.readInteger(as: UInt32.self),
            let parametersLength = body.readInteger(as: UInt8.self)
        else { throw malformed }
        // RFC 4271 §6.2: the data names the largest version we support.
        guard version == BGPWire.version else {
            throw .reset(
                BGPNotification.Code.open, BGPNotification.OpenSubcode.unsupportedVersion,
                data: [0, BGPWire.version])
        }
        var capabilities: [BGPCapability] = []
        var extended = false
        var parametersEnd = body.readerIndex + Int(parametersLength)
        // RFC 9072 §2: length 255 and a first type of 255 switch to 2-octet lengths.
        if parametersLength == BGPWire.extendedOptionalParameters,
            body.getInteger(at: body.readerIndex, as: UInt8.self) == BGPWire.extendedOptionalParameters
        {
            body.moveReaderIndex(forwardBy: 1)
            guard let length = body.readInteger(as: UInt16.self) else { throw malformed }
            extended = true
            parametersEnd = body.readerIndex + Int(length)
        }
        guard parametersEnd == body.writerIndex else { throw malformed }
        while body.readableBytes > 0 {
            guard let type = body.readInteger(as: UInt8.self),
                let length = extended
                    ? body.readInteger(as: UInt16.self).map(Int.init)
                    : body.readInteger(as: UInt8.self).map(Int.init),
                var value = body.readSlice(length: length)
            else { throw malformed }
            // RFC 5492 §4 / RFC 4271 §6.2: capabilities are the only parameter there is.
            guard type == BGPWire.capabilitiesParameter else {
                throw .reset(BGPNotification.Code.open, BGPNotification.OpenSubcode.unsupportedOptionalParameter)
            }
            capabilities += try BGPCapability.readAll(from: &value)
        }
        return BGPOpen(
            version: version, myAS: myAS, holdTime: holdTime, identifier: IPv4Address(identifier),
            capabilities: capabilities)
    }

    /// All capabilities in one parameter, as BIRD does; a list too long for one parameter is split
    /// across several, which RFC 5492 §4 allows.
    func write(into buffer: inout ByteBuffer) {
        buffer.writeInteger(version)
        buffer.writeInteger(myAS)
        buffer.writeInteger(holdTime)
        buffer.writeInteger(identifier.value)
        var parameters = ByteBuffer()
        var pending = capabilities[...]
        while !pending.isEmpty {
            var value = ByteBuffer()
            while let next = pending.first {
                var encoded = ByteBuffer()
                next.write(into: &encoded)
                guard value.readableBytes + encoded.readableBytes <= Int(UInt8.max) || value.readableBytes == 0
                else { break }
                value.writeImmutableBuffer(encoded)
                pending = pending.dropFirst()
            }
            parameters.writeInteger(BGPWire.capabilitiesParameter)
            parameters.writeInteger(UInt8(truncatingIfNeeded: value.readableBytes))
            parameters.writeImmutableBuffer(value)
        }
        buffer.writeInteger(UInt8(truncatingIfNeeded: parameters.readableBytes))
        buffer.writeImmutableBuffer(parameters)
    }
}
