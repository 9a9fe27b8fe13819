import NIOCore
import SwitchyardCore

/// An UPDATE (RFC 4271 §4.3): IPv4 withdrawals and announcements in their own fields, IPv6 (and
/// any multiprotocol family) inside the MP_REACH_NLRI / MP_UNREACH_NLRI attributes (RFC 4760).
public struct BGPUpdate: Hashable, Sendable {
    /// The Withdrawn Routes field: IPv4 unicast only.
    public var withdrawn: [IPPrefix]
    public var attributes: BGPPathAttributes
    /// The NLRI field: IPv4 unicast only.
    public var announced: [IPPrefix]
    /// The RFC 7606 handling the decoder applied to this UPDATE (treat-as-withdraw, attribute
    /// discard), already reflected in the fields above. Empty for a clean UPDATE; never written.
    public var appliedErrorHandling: [BGPDecodeError]

    public init(
        withdrawn: [IPPrefix] = [], attributes: BGPPathAttributes = BGPPathAttributes(),
        announced: [IPPrefix] = [], appliedErrorHandling: [BGPDecodeError] = []
    ) {
        self.withdrawn = withdrawn
        self.attributes = attributes
        self.announced = announced
        self.appliedErrorHandling = appliedErrorHandling
    }

    /// End-of-RIB for a family (RFC 4724 §2): an empty UPDATE for IPv4 unicast, an MP_UNREACH_NLRI
    /// with no prefixes for the others.
    public static func endOfRIB(_ family: BGPAddressFamily) -> BGPUpdate {
        if family == .ipv4Unicast { return BGPUpdate() }
        return BGPUpdate(
            attributes: BGPPathAttributes(
                multiprotocolUnreach: BGPMultiprotocolUnreach(family: family, withdrawn: [])))
    }

    /// The family this UPDATE marks End-of-RIB for, if it is one.
    public var endOfRIB: BGPAddressFamily? {
        guard withdrawn.isEmpty, announced.isEmpty else { return nil }
        if attributes == BGPPathAttributes() { return .ipv4Unicast }
        if let unreach = attributes.multiprotocolUnreach, unreach.withdrawn.isEmpty,
            attributes == BGPPathAttributes(multiprotocolUnreach: unreach)
        {
            return unreach.family
        }
        return nil
    }

    /// Whether RFC 7606 treat-as-withdraw was applied: the routes it named are in the withdrawals.
    public var wasTreatedAsWithdraw: Bool {
        appliedErrorHandling.contains { if case .treatAsWithdraw = $0 { true } else { false } }
    }
}

extension BGPUpdate {
    /// Reads the body after the header (exactly the message's bytes), applying RFC 7606.
    static func read(body: inout ByteBuffer, context: BGPCodecContext) throws(BGPDecodeError) -> BGPUpdate {
        // RFC 4271 §6.3: lengths that do not add up make the attribute list malformed and the NLRI
        // unlocatable: reset.
        let malformedList = BGPDecodeError.reset(
            BGPNotification.Code.update,
            BGPNotification.UpdateSubcode.malformedAttributeList)
        guard let withdrawnLength = body.readInteger(as: UInt16.self),
            var withdrawnField = body.readSlice(length: Int(withdrawnLength)),
            let attributesLength = body.readInteger(as: UInt16.self),
            var attributesField = body.readSlice(length: Int(attributesLength))
        else { throw malformedList }
        // RFC 7606 §3 j / RFC 4271 §6.3: prefixes that do not parse cannot be withdrawn: reset.
        let invalidNetwork = BGPDecodeError.reset(
            BGPNotification.Code.update,
            BGPNotification.UpdateSubcode.invalidNetworkField)
        guard let withdrawn = BGPPrefixCodec.readAll(from: &withdrawnField, addressBytes: 4),
            let announced = BGPPrefixCodec.readAll(from: &body, addressBytes: 4)
        else { throw invalidNetwork }
        let (attributes, decodeProblems) = try BGPPathAttributes.read(field: &attributesField, context: context)
        var problems = decodeProblems
        var update = BGPUpdate(withdrawn: withdrawn, attributes: attributes, announced: announced)

        // RFC 7606 §3 d: a well-known mandatory attribute missing from an UPDATE that announces
        // routes is treat-as-withdraw. NEXT_HOP is needed only for the NLRI field (RFC 4760 §3).
        // An attribute already dropped as malformed is not reported twice.
        let announcesRoutes = !announced.isEmpty || !(attributes.multiprotocolReach?.announced.isEmpty ?? true)
        if announcesRoutes {
            let reported = Set(
                problems.compactMap { problem -> UInt8? in
                    if case .treatAsWithdraw(let error) = problem { error.attributeType } else { nil }
                })
            var missing: [UInt8] = []
            if attributes.origin == nil { missing.append(BGPPathAttributes.TypeCode.origin) }
            if attributes.asPath == nil { missing.append(BGPPathAttributes.TypeCode.asPath) }
            if !announced.isEmpty, attributes.nextHop == nil { missing.append(BGPPathAttributes.TypeCode.nextHop) }
            problems += missing.filter { !reported.contains($0) }.map {
                .treatAsWithdraw(BGPAttributeError(attributeType: $0, problem: .missingWellKnown))
            }
        }
        update.appliedErrorHandling = problems
        if update.wasTreatedAsWithdraw {
            update.applyTreatAsWithdraw()
        }
        return update
    }

    /// RFC 7606 §2: every announced route becomes a withdrawal and the attributes go; withdrawals
    /// the UPDATE already carried stay.
    private mutating func applyTreatAsWithdraw() {
        withdrawn += announced
        announced = []
        var unreach = attributes.multiprotocolUnreach
        if let reach = attributes.multiprotocolReach, !reach.announced.isEmpty {
            if unreach?.family == reach.family {
                unreach?.withdrawn += reach.announced
            } else if reach.family == .ipv4Unicast {
                withdrawn += reach.announced
            } else if unreach == nil {
                unreach = BGPMultiprotocolUnreach(family: reach.family, withdrawn: reach.announced)
            }
        }
        attributes = BGPPathAttributes(multiprotocolUnreach: unreach)
    }

    func write(into buffer: inout ByteBuffer, context: BGPCodecContext) {
        let withdrawnStart = buffer.writerIndex
        buffer.writeInteger(UInt16(0))
        for prefix in withdrawn { BGPPrefixCodec.write(prefix, into: &buffer) }
        buffer.setInteger(UInt16(truncatingIfNeeded: buffer.writerIndex - withdrawnStart - 2), at: withdrawnStart)
        let attributesStart = buffer.writerIndex
        buffer.writeInteger(UInt16(0))
        attributes.write(into: &buffer, context: context)
        buffer.setInteger(UInt16(truncatingIfNeeded: buffer.writerIndex - attributesStart - 2), at: attributesStart)
        for prefix in announced { BGPPrefixCodec.write(prefix, into: &buffer) }
    }
}
