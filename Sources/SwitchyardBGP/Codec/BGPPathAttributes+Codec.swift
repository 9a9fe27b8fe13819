import NIOCore
import SwitchyardCore

extension BGPPathAttributes {
    /// The optional and transitive flag bits each known attribute must carry (RFC 4271 §5).
    static func expectedFlags(_ type: UInt8) -> UInt8? {
        switch type {
        case TypeCode.origin, TypeCode.asPath, TypeCode.nextHop, TypeCode.localPreference, TypeCode.atomicAggregate:
            Flag.transitive
        case TypeCode.multiExitDiscriminator, TypeCode.multiprotocolReach, TypeCode.multiprotocolUnreach:
            Flag.optional
        case TypeCode.communities, TypeCode.largeCommunity, TypeCode.aggregator:
            Flag.optional | Flag.transitive
        default:
            nil
        }
    }

    /// Reads the path attribute field (exactly its bytes) and applies RFC 7606: problems that
    /// leave the NLRI locatable come back in the list for the caller to apply; problems that do not
    /// are thrown as a session reset.
    static func read(field: inout ByteBuffer, context: BGPCodecContext) throws(BGPDecodeError)
        -> (BGPPathAttributes, [BGPDecodeError])
    {
        var attributes = BGPPathAttributes()
        var problems: [BGPDecodeError] = []
        var seen = Set<UInt8>()
        while field.readableBytes > 0 {
            let before = field
            guard let flags = field.readInteger(as: UInt8.self), let type = field.readInteger(as: UInt8.self),
                let length = flags & Flag.extendedLength != 0
                    ? field.readInteger(as: UInt16.self).map(Int.init)
                    : field.readInteger(as: UInt8.self).map(Int.init),
                var value = field.readSlice(length: length)
            else {
                // RFC 7606 §4: an attribute running past the field is treat-as-withdraw; the Total
                // Path Attribute Length still locates the NLRI.
                problems.append(.treatAsWithdraw(BGPAttributeError(attributeType: 0, problem: .attributeListOverrun)))
                break
            }
            // The whole attribute, for the data of a NOTIFICATION (RFC 4271 §6.3); built only if needed.
            let consumed = field.readerIndex - before.readerIndex
            let wholeAttribute = { before.getBytes(at: before.readerIndex, length: consumed) ?? [] }
            guard seen.insert(type).inserted else {
                // RFC 7606 §3 g: a repeated MP_REACH/MP_UNREACH leaves the NLRI ambiguous: reset;
                // any other repeat keeps the first.
                if type == TypeCode.multiprotocolReach || type == TypeCode.multiprotocolUnreach {
                    throw .reset(BGPNotification.Code.update, BGPNotification.UpdateSubcode.malformedAttributeList)
                }
                problems.append(.discardAttribute(BGPAttributeError(attributeType: type, problem: .duplicate)))
                continue
            }
            if let expected = expectedFlags(type), flags & (Flag.optional | Flag.transitive) != expected {
                let error = BGPAttributeError(attributeType: type, problem: .conflictingFlags(flags))
                // RFC 7606 §3 c: treat-as-withdraw, except where the attribute's own rule is
                // discard (§7.6 ATOMIC_AGGREGATE, §7.7 AGGREGATOR).
                if type == TypeCode.atomicAggregate || type == TypeCode.aggregator {
                    problems.append(.discardAttribute(error))
                    continue
                }
                problems.append(.treatAsWithdraw(error))
            }
            if let problem = try attributes.readOne(
                type: type, flags: flags, value: &value, context: context,
                wholeAttribute: wholeAttribute)
            {
                problems.append(problem)
            }
        }
        // Carried attributes in type order, as the writer sends them: the order on the wire carries
        // no meaning (RFC 4271 §5), and one canonical order makes decode(encode(x)) == x.
        attributes.otherAttributes.sort { $0.type < $1.type }
        return (attributes, problems)
    }

    /// Decodes one attribute into `self`; returns the RFC 7606 handling when it is malformed.
    private mutating func readOne(
        type: UInt8, flags: UInt8, value: inout ByteBuffer, context: BGPCodecContext,
        wholeAttribute: () -> [UInt8]
    ) throws(BGPDecodeError) -> BGPDecodeError? {
        let length = value.readableBytes
        func withdraw(_ problem: BGPAttributeError.Problem) -> BGPDecodeError {
            .treatAsWithdraw(BGPAttributeError(attributeType: type, problem: problem))
        }
        func discard(_ problem: BGPAttributeError.Problem) -> BGPDecodeError {
            .discardAttribute(BGPAttributeError(attributeType: type, problem: problem))
        }
        switch type {
        case TypeCode.origin:
            // RFC 7606 §7.1: wrong length or undefined value: treat-as-withdraw.
            guard length == 1, let raw = value.readInteger(as: UInt8.self) else { return withdraw(.badLength(length)) }
            guard let origin = BGPOrigin(rawValue: raw) else { return withdraw(.invalidOrigin(raw)) }
            self.origin = origin
        case TypeCode.asPath:
            // RFC 7606 §7.2: a malformed AS_PATH is treat-as-withdraw.
            guard let segments = Self.readASPath(&value, fourOctet: context.fourOctetASN) else {
                return withdraw(.malformedASPath)
            }
            asPath = segments
        case TypeCode.nextHop:
            // RFC 7606 §7.3: wrong length, or (RFC 4271 §6.3) not a usable unicast address:
            // treat-as-withdraw.
            guard length == 4, let raw = value.readInteger(as: UInt32.self) else { return withdraw(.badLength(length)) }
            let address = IPv4Address(raw)
            guard !address.isUnspecified, !address.isMulticast, !address.isBroadcast else {
                return withdraw(.invalidNextHop)
            }
            nextHop = address
        case TypeCode.multiExitDiscriminator:
            // RFC 7606 §7.4: wrong length: treat-as-withdraw.
            guard length == 4, let med = value.readInteger(as: UInt32.self) else { return withdraw(.badLength(length)) }
            multiExitDiscriminator = med
        case TypeCode.localPreference:
            // RFC 7606 §7.5: from an external peer it is discarded whatever it holds; from an
            // internal one a wrong length is treat-as-withdraw.
            if context.peerIsExternal { return discard(.fromExternalPeer) }
            guard length == 4, let preference = value.readInteger(as: UInt32.self) else {
                return withdraw(.badLength(length))
            }
            localPreference = preference
        case TypeCode.atomicAggregate:
            // RFC 7606 §7.6: a value where none belongs: attribute discard.
            guard length == 0 else { return discard(.badLength(length)) }
            atomicAggregate = true
        case TypeCode.aggregator:
            // RFC 7606 §7.7: 6 octets (8 with 4-octet ASNs) or attribute discard. Carried as bytes.
            guard length == (context.fourOctetASN ? 8 : 6) else { return discard(.badLength(length)) }
            let bytes = value.readBytes(length: length) ?? []
            otherAttributes.append(BGPRawAttribute(flags: flags, type: type, value: bytes))
        case TypeCode.communities:
            // RFC 7606 §7.8: a length that is not a non-zero multiple of 4 is treat-as-withdraw.
            guard length > 0, length % 4 == 0 else { return withdraw(.badLength(length)) }
            while let raw = value.readInteger(as: UInt32.self) { communities.append(BGPCommunity(raw)) }
        case TypeCode.largeCommunity:
            // RFC 8092 §6: a length that is not a non-zero multiple of 12 is treat-as-withdraw.
            guard length > 0, length % 12 == 0 else { return withdraw(.badLength(length)) }
            while let global = value.readInteger(as: UInt32.self), let first = value.readInteger(as: UInt32.self),
                let second = value.readInteger(as: UInt32.self)
            {
                largeCommunities.append(BGPLargeCommunity(global, first, second))
            }
        case TypeCode.multiprotocolReach:
            multiprotocolReach = try Self.readReach(&value)
        case TypeCode.multiprotocolUnreach:
            multiprotocolUnreach = try Self.readUnreach(&value)
        default:
            // RFC 4271 §6.3: an unrecognized well-known attribute resets the session (RFC 7606
            // keeps that); unknown optional transitive ones travel on, non-transitive ones are
            // quietly ignored (RFC 4271 §5).
            if flags & Flag.optional == 0 {
                throw .reset(
                    BGPNotification.Code.update, BGPNotification.UpdateSubcode.unrecognizedWellKnownAttribute,
                    data: wholeAttribute())
            }
            if flags & Flag.transitive != 0 {
                otherAttributes.append(
                    BGPRawAttribute(
                        flags: flags, type: type,
                        value: value.readBytes(length: length) ?? []))
            }
        }
        return nil
    }

    /// AS_PATH segments; nil when a segment type is unknown, a count is 0 or the octets do not add up.
    static func readASPath(_ value: inout ByteBuffer, fourOctet: Bool) -> [BGPASPathSegment]? {
        var segments: [BGPASPathSegment] = []
        while value.readableBytes > 0 {
            guard let rawKind = value.readInteger(as: UInt8.self), let kind = BGPASPathSegment.Kind(rawValue: rawKind),
                let count = value.readInteger(as: UInt8.self), count > 0
            else { return nil }
            var asns: [UInt32] = []
            for _ in 0..<count {
                let asn =
                    fourOctet
                    ? value.readInteger(as: UInt32.self)
                    : value.readInteger(as: UInt16.self).map(UInt32.init)
                guard let asn else { return nil }
                asns.append(asn)
            }
            segments.append(BGPASPathSegment(kind, asns))
        }
        return segments
    }

    /// MP_REACH_NLRI (RFC 4760 §3). A family we do not parse is skipped whole; a malformed one
    /// resets the session (RFC 7606 §7.11: its NLRI cannot be located).
    static func readReach(_ value: inout ByteBuffer) throws(BGPDecodeError) -> BGPMultiprotocolReach? {
        let malformed = BGPDecodeError.reset(
            BGPNotification.Code.update,
            BGPNotification.UpdateSubcode.optionalAttributeError)
        guard let afi = value.readInteger(as: UInt16.self), let safi = value.readInteger(as: UInt8.self),
            let nextHopLength = value.readInteger(as: UInt8.self),
            let nextHopBytes = value.readBytes(length: Int(nextHopLength)),
            value.readInteger(as: UInt8.self) != nil
        else { throw malformed }
        let family = BGPAddressFamily(afi: afi, safi: safi)
        guard let width = family.addressBytes else { return nil }
        let nextHop: BGPNextHop
        switch (width, nextHopBytes.count) {
        case (4, 4):
            guard case .v4(let address) = BGPPrefixCodec.address(nextHopBytes) else { throw malformed }
            nextHop = .v4(address)
        case (16, 16), (16, 32):
            guard case .v6(let global) = BGPPrefixCodec.address(Array(nextHopBytes[0..<16])) else { throw malformed }
            var linkLocal: IPv6Address?
            if nextHopBytes.count == 32, case .v6(let second) = BGPPrefixCodec.address(Array(nextHopBytes[16..<32])) {
                linkLocal = second
            }
            nextHop = .v6(global: global, linkLocal: linkLocal)
        default:
            throw malformed
        }
        guard let announced = BGPPrefixCodec.readAll(from: &value, addressBytes: width) else { throw malformed }
        return BGPMultiprotocolReach(family: family, nextHop: nextHop, announced: announced)
    }

    /// MP_UNREACH_NLRI (RFC 4760 §4); malformed resets the session (RFC 7606 §7.12).
    static func readUnreach(_ value: inout ByteBuffer) throws(BGPDecodeError) -> BGPMultiprotocolUnreach? {
        let malformed = BGPDecodeError.reset(
            BGPNotification.Code.update,
            BGPNotification.UpdateSubcode.optionalAttributeError)
        guard let afi = value.readInteger(as: UInt16.self), let safi = value.readInteger(as: UInt8.self) else {
            throw malformed
        }
        let family = BGPAddressFamily(afi: afi, safi: safi)
        guard let width = family.addressBytes else { return nil }
        guard let withdrawn = BGPPrefixCodec.readAll(from: &value, addressBytes: width) else { throw malformed }
        return BGPMultiprotocolUnreach(family: family, withdrawn: withdrawn)
    }
}

extension BGPPathAttributes {
    /// Writes every attribute present, in type order; the extended-length flag is set exactly when
    /// a value exceeds 255 octets (RFC 4271 §4.3).
    func write(into buffer: inout ByteBuffer, context: BGPCodecContext) {
        var encoded: [(type: UInt8, flags: UInt8, value: ByteBuffer)] = []
        func add(_ type: UInt8, _ body: (inout ByteBuffer) -> Void) {
            var value = ByteBuffer()
            body(&value)
            encoded.append((type, Self.expectedFlags(type) ?? 0, value))
        }
        if let origin { add(TypeCode.origin) { $0.writeInteger(origin.rawValue) } }
        if let asPath { add(TypeCode.asPath) { Self.writeASPath(asPath, into: &$0, fourOctet: context.fourOctetASN) } }
        if let nextHop { add(TypeCode.nextHop) { $0.writeInteger(nextHop.value) } }
        if let med = multiExitDiscriminator { add(TypeCode.multiExitDiscriminator) { $0.writeInteger(med) } }
        if let localPreference { add(TypeCode.localPreference) { $0.writeInteger(localPreference) } }
        if atomicAggregate { add(TypeCode.atomicAggregate) { _ in } }
        if !communities.isEmpty {
            add(TypeCode.communities) { buffer in
                for community in communities { buffer.writeInteger(community.value) }
            }
        }
        if let reach = multiprotocolReach { add(TypeCode.multiprotocolReach) { Self.writeReach(reach, into: &$0) } }
        if let unreach = multiprotocolUnreach {
            add(TypeCode.multiprotocolUnreach) { buffer in
                buffer.writeInteger(unreach.family.afi)
                buffer.writeInteger(unreach.family.safi)
                for prefix in unreach.withdrawn { BGPPrefixCodec.write(prefix, into: &buffer) }
            }
        }
        if !largeCommunities.isEmpty {
            add(TypeCode.largeCommunity) { buffer in
                for community in largeCommunities {
                    buffer.writeInteger(community.globalAdministrator)
                    buffer.writeInteger(community.localData1)
                    buffer.writeInteger(community.localData2)
                }
            }
        }
        for raw in otherAttributes { encoded.append((raw.type, raw.flags, ByteBuffer(bytes: raw.value))) }
        // Ascending type order (RFC 4271 §5 suggests it); equal types keep their order.
        let ordered = encoded.enumerated()
            .sorted { ($0.element.type, $0.offset) < ($1.element.type, $1.offset) }
            .map(\.element)
        for attribute in ordered {
            Self.writeAttribute(type: attribute.type, flags: attribute.flags, value: attribute.value, into: &buffer)
        }
    }

    static func writeAttribute(type: UInt8, flags: UInt8, value: ByteBuffer, into buffer: inout ByteBuffer) {
        let extended = value.readableBytes > BGPWire.maxShortAttributeLength
        buffer.writeInteger(extended ? flags | Flag.extendedLength : flags & ~Flag.extendedLength)
        buffer.writeInteger(type)
        if extended {
            buffer.writeInteger(UInt16(truncatingIfNeeded: value.readableBytes))
        } else {
            buffer.writeInteger(UInt8(truncatingIfNeeded: value.readableBytes))
        }
        buffer.writeImmutableBuffer(value)
    }

    /// Octets an attribute with a value of `valueLength` takes: 3 header octets, 4 when extended.
    static func encodedLength(valueLength: Int) -> Int {
        valueLength + (valueLength > BGPWire.maxShortAttributeLength ? 4 : 3)
    }

    /// Without 4-octet ASNs a large ASN becomes AS_TRANS (RFC 6793 §4.2.2); a segment longer than
    /// 255 ASNs is split, as RFC 4271 §4.3 requires.
    static func writeASPath(_ segments: [BGPASPathSegment], into buffer: inout ByteBuffer, fourOctet: Bool) {
        for segment in segments where !segment.asns.isEmpty {
            var remaining = segment.asns[...]
            repeat {
                let chunk = remaining.prefix(BGPWire.maxASPathSegmentLength)
                remaining = remaining.dropFirst(chunk.count)
                buffer.writeInteger(segment.kind.rawValue)
                buffer.writeInteger(UInt8(truncatingIfNeeded: chunk.count))
                for asn in chunk {
                    if fourOctet {
                        buffer.writeInteger(asn)
                    } else {
                        buffer.writeInteger(asn > UInt32(UInt16.max) ? BGPWire.asTrans : UInt16(asn))
                    }
                }
            } while !remaining.isEmpty
        }
    }

    static func writeReach(_ reach: BGPMultiprotocolReach, into buffer: inout ByteBuffer) {
        buffer.writeInteger(reach.family.afi)
        buffer.writeInteger(reach.family.safi)
        buffer.writeInteger(UInt8(reach.nextHop.encodedLength))
        switch reach.nextHop {
        case .v4(let address):
            buffer.writeInteger(address.value)
        case .v6(let global, let linkLocal):
            buffer.writeBytes(global.bytes)
            if let linkLocal { buffer.writeBytes(linkLocal.bytes) }
        }
        buffer.writeInteger(UInt8(0))
        for prefix in reach.announced { BGPPrefixCodec.write(prefix, into: &buffer) }
    }
}
