import NIOCore
import SwitchyardCore
import Testing

@testable import SwitchyardBGP

/// Malformed input gets the handling RFC 4271 §6 and RFC 7606 give it: a reset with the right
/// NOTIFICATION for framing, OPEN and NLRI errors, treat-as-withdraw or attribute discard for
/// attribute errors, and never a trap.
@Suite struct BGPMalformedInputTests {
    static func resetNotification(_ body: () throws(BGPDecodeError) -> Void) -> BGPNotification? {
        do {
            try body()
        } catch {
            if case .resetSession(let notification) = error { return notification }
        }
        return nil
    }

    static func resetOf(_ buffer: ByteBuffer, _ context: BGPCodecContext = T.external) -> BGPNotification? {
        resetNotification { () throws(BGPDecodeError) in _ = try T.decode(buffer, context) }
    }

    // MARK: Framing (RFC 4271 §6.1)

    @Test func badMarkerIsConnectionNotSynchronized() {
        var bytes = Array(T.encode(.keepalive).readableBytesView)
        bytes[3] = 0
        #expect(Self.resetOf(ByteBuffer(bytes: bytes)) == BGPNotification(code: 1, subcode: 1))
    }

    @Test(arguments: [UInt16(18), 4097, 0xffff])
    func lengthOutsideTheLimitsIsBadMessageLength(_ length: UInt16) {
        var buffer = T.encode(.keepalive)
        buffer.setInteger(length, at: 16)
        #expect(
            Self.resetOf(buffer)
                == BGPNotification(
                    code: 1, subcode: 2,
                    data: [
                        UInt8(length >> 8),
                        UInt8(length & 0xff),
                    ]))
    }

    @Test func lengthWrongForTheTypeIsBadMessageLength() {
        #expect(Self.resetOf(T.frame(type: 4, body: [0]))?.subcode == 2, "KEEPALIVE with a body")
        #expect(Self.resetOf(T.frame(type: 1, body: [4, 0, 1]))?.subcode == 2, "OPEN too short")
        #expect(Self.resetOf(T.frame(type: 2, body: [0, 0]))?.subcode == 2, "UPDATE too short")
        #expect(Self.resetOf(T.frame(type: 3, body: [6]))?.subcode == 2, "NOTIFICATION without subcode")
    }

    @Test func unknownTypeIsBadMessageType() {
        #expect(Self.resetOf(T.frame(type: 9, body: [])) == BGPNotification(code: 1, subcode: 3, data: [9]))
    }

    @Test func routeRefreshOfTheWrongLengthHasItsOwnError() {
        let message = T.frame(type: 5, body: [0, 2, 0, 1, 0])
        #expect(Self.resetOf(message) == BGPNotification(code: 7, subcode: 1, data: Array(message.readableBytesView)))
    }

    /// A bad header is reported as soon as its 19 octets are in, not after a body that never comes.
    @Test func badHeaderIsReportedWithoutTheBody() {
        var buffer = T.frame(type: 2, body: [])
        buffer.setInteger(UInt16(5000), at: 16)
        #expect(Self.resetOf(buffer)?.subcode == 2)
    }

    // MARK: OPEN (RFC 4271 §6.2, RFC 5492)

    static let openFixed: [UInt8] = [4, 0xfd, 0xe9, 0, 90, 10, 0, 0, 1]

    @Test func wrongVersionNamesTheOneWeSpeak() {
        var body = Self.openFixed + [0]
        body[0] = 3
        #expect(Self.resetOf(T.frame(type: 1, body: body)) == BGPNotification(code: 2, subcode: 1, data: [0, 4]))
    }

    @Test func unknownOptionalParameterIsUnsupported() {
        let message = T.frame(type: 1, body: Self.openFixed + [3, 1, 1, 0])
        #expect(Self.resetOf(message) == BGPNotification(code: 2, subcode: 4))
    }

    @Test func parametersThatDoNotAddUpFailTheOpen() {
        #expect(Self.resetOf(T.frame(type: 1, body: Self.openFixed + [5, 2, 2, 2, 0]))?.code == 2, "length short")
        #expect(Self.resetOf(T.frame(type: 1, body: Self.openFixed + [4, 2, 9, 65, 4]))?.code == 2, "param overruns")
        #expect(Self.resetOf(T.frame(type: 1, body: Self.openFixed + [4, 2, 2, 65, 3]))?.code == 2, "cap overruns")
        #expect(
            Self.resetOf(T.frame(type: 1, body: Self.openFixed + [5, 2, 3, 65, 1, 0]))?.code == 2, "bad 4-octet AS")
    }

    /// Unknown capabilities are kept, not refused (RFC 5492 §3); several parameters are merged.
    @Test func unknownCapabilitiesAndManyParametersAreAccepted() throws {
        let parameters: [UInt8] = [2, 6, 65, 4, 0, 0, 0xfd, 0xe9] + [2, 3, 200, 1, 7] + [2, 2, 2, 0]
        let message = try T.decode(T.frame(type: 1, body: Self.openFixed + [UInt8(parameters.count)] + parameters))
        guard case .open(let open)? = message else {
            Issue.record("no OPEN")
            return
        }
        #expect(open.capabilities == [.fourOctetASN(65001), .other(code: 200, value: [7]), .routeRefresh])
    }

    /// RFC 9072 extended optional parameters.
    @Test func extendedOptionalParametersAreRead() throws {
        let parameters: [UInt8] = [255, 0, 9] + [2, 0, 6, 65, 4, 0, 0, 0xfd, 0xe9]
        let message = try T.decode(T.frame(type: 1, body: Self.openFixed + [255] + parameters))
        guard case .open(let open)? = message else {
            Issue.record("no OPEN")
            return
        }
        #expect(open.capabilities == [.fourOctetASN(65001)])
    }

    // MARK: UPDATE framing and NLRI (RFC 4271 §6.3, RFC 7606 §3 j, §5.3)

    @Test func lengthsThatOverrunAreMalformedAttributeList() {
        let body: [UInt8] = [0, 9, 24, 10, 0, 0, 0, 0]
        #expect(Self.resetOf(T.frame(type: 2, body: body)) == BGPNotification(code: 3, subcode: 1))
        let attributes: [UInt8] = [0, 0, 0, 50, 0x40, 1, 1, 0]
        #expect(Self.resetOf(T.frame(type: 2, body: attributes)) == BGPNotification(code: 3, subcode: 1))
    }

    @Test func unparseableNLRIResets() {
        let tooLong = T.updateBody(attributes: T.validV4Attributes, nlri: [33, 1, 2, 3, 4, 5])
        #expect(Self.resetOf(T.frame(type: 2, body: tooLong)) == BGPNotification(code: 3, subcode: 10))
        let cut = T.updateBody(attributes: T.validV4Attributes, nlri: [24, 1, 2])
        #expect(Self.resetOf(T.frame(type: 2, body: cut)) == BGPNotification(code: 3, subcode: 10))
        let badWithdrawn = T.updateBody(withdrawn: [40, 1, 2, 3, 4, 5], attributes: [], nlri: [])
        #expect(Self.resetOf(T.frame(type: 2, body: badWithdrawn))?.subcode == 10)
    }

    @Test func repeatedMultiprotocolAttributeResets() {
        let unreach: [UInt8] = [0x80, 15, 3, 0, 2, 1]
        let body = T.updateBody(attributes: unreach + unreach, nlri: [])
        #expect(Self.resetOf(T.frame(type: 2, body: body)) == BGPNotification(code: 3, subcode: 1))
    }

    @Test func malformedMultiprotocolReachResets() {
        // IPv6 next hop of 8 octets (RFC 7606 §7.11).
        let reach: [UInt8] = [0x80, 14, 14, 0, 2, 1, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]
        let body = T.updateBody(attributes: [0x40, 1, 1, 0, 0x40, 2, 0] + reach, nlri: [])
        #expect(Self.resetOf(T.frame(type: 2, body: body))?.code == 3)
        let badPrefix: [UInt8] = [0x80, 15, 5, 0, 2, 1, 129, 0]
        #expect(Self.resetOf(T.frame(type: 2, body: T.updateBody(attributes: badPrefix, nlri: [])))?.code == 3)
    }

    @Test func unrecognizedWellKnownAttributeResets() {
        let body = T.updateBody(attributes: T.validV4Attributes + [0x40, 90, 1, 0], nlri: T.nlri24)
        #expect(
            Self.resetOf(T.frame(type: 2, body: body))
                == BGPNotification(
                    code: 3, subcode: 2, data: [0x40, 90, 1, 0]))
    }

    // MARK: Attributes (RFC 7606 §7)

    static func withdrawnBecause(_ attributes: [UInt8], _ context: BGPCodecContext = T.external)
        throws -> BGPAttributeError?
    {
        let update = try T.decodeUpdate(attributes: attributes, context: context)
        #expect(update?.announced == [])
        #expect(update?.withdrawn == [T.prefix("198.51.100.0/24")])
        for case .treatAsWithdraw(let error) in update?.appliedErrorHandling ?? [] { return error }
        return nil
    }

    static let origin: [UInt8] = [0x40, 1, 1, 0]
    static let asPath: [UInt8] = [0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xea]
    static let nextHop: [UInt8] = [0x40, 3, 4, 192, 0, 2, 1]

    @Test func badOriginIsTreatAsWithdraw() throws {
        let error = try Self.withdrawnBecause([0x40, 1, 1, 7] + Self.asPath + Self.nextHop)
        #expect(error == BGPAttributeError(attributeType: 1, problem: .invalidOrigin(7)))
    }

    @Test func malformedASPathIsTreatAsWithdraw() throws {
        let overrun: [UInt8] = [0x40, 2, 4, 2, 2, 0, 1]
        #expect(try Self.withdrawnBecause(Self.origin + overrun + Self.nextHop)?.problem == .malformedASPath)
        let badType: [UInt8] = [0x40, 2, 6, 9, 1, 0, 0, 0xfd, 0xea]
        #expect(try Self.withdrawnBecause(Self.origin + badType + Self.nextHop)?.problem == .malformedASPath)
        let zeroCount: [UInt8] = [0x40, 2, 2, 2, 0]
        #expect(try Self.withdrawnBecause(Self.origin + zeroCount + Self.nextHop)?.problem == .malformedASPath)
    }

    @Test func badNextHopIsTreatAsWithdraw() throws {
        #expect(
            try Self.withdrawnBecause(Self.origin + Self.asPath + [0x40, 3, 4, 0, 0, 0, 0])?.problem
                == .invalidNextHop)
        #expect(
            try Self.withdrawnBecause(Self.origin + Self.asPath + [0x40, 3, 4, 224, 0, 0, 5])?.problem
                == .invalidNextHop)
        #expect(
            try Self.withdrawnBecause(Self.origin + Self.asPath + [0x40, 3, 3, 1, 2, 3])?.problem
                == .badLength(3))
    }

    /// Each case leaves one of ORIGIN (1), AS_PATH (2), NEXT_HOP (3) out.
    static let missingCases: [(UInt8, [UInt8])] = [
        (1, [0x40, 2, 0, 0x40, 3, 4, 192, 0, 2, 1]),
        (2, [0x40, 1, 1, 0, 0x40, 3, 4, 192, 0, 2, 1]),
        (3, [0x40, 1, 1, 0, 0x40, 2, 0]),
    ]

    @Test(arguments: missingCases)
    func missingWellKnownAttributeIsTreatAsWithdraw(_ missing: UInt8, _ attributes: [UInt8]) throws {
        #expect(
            try Self.withdrawnBecause(attributes)
                == BGPAttributeError(
                    attributeType: missing,
                    problem: .missingWellKnown))
    }

    @Test func badCommunitiesAndLargeCommunitiesAreTreatAsWithdraw() throws {
        let valid = Self.origin + Self.asPath + Self.nextHop
        #expect(try Self.withdrawnBecause(valid + [0xc0, 8, 3, 1, 2, 3])?.problem == .badLength(3), "§7.8")
        #expect(try Self.withdrawnBecause(valid + [0xc0, 8, 0])?.problem == .badLength(0), "§7.8 empty")
        #expect(
            try Self.withdrawnBecause(valid + [0xc0, 32, 8] + [UInt8](repeating: 1, count: 8))?.problem
                == .badLength(8), "RFC 8092 §6")
        #expect(try Self.withdrawnBecause(valid + [0x80, 4, 2, 0, 1])?.problem == .badLength(2), "MED §7.4")
    }

    @Test func conflictingFlagsAreTreatAsWithdraw() throws {
        let optionalOrigin: [UInt8] = [0xc0, 1, 1, 0]
        #expect(
            try Self.withdrawnBecause(optionalOrigin + Self.asPath + Self.nextHop)?.problem
                == .conflictingFlags(0xc0))
    }

    @Test func attributeListOverrunIsTreatAsWithdraw() throws {
        let valid = Self.origin + Self.asPath + Self.nextHop
        #expect(try Self.withdrawnBecause(valid + [0xc0, 8, 20, 0, 0])?.problem == .attributeListOverrun)
        #expect(try Self.withdrawnBecause(valid + [0xc0, 8])?.problem == .attributeListOverrun, "header cut")
    }

    /// RFC 7606 §7.5: LOCAL_PREF from an external peer is discarded, the route stays.
    @Test func localPreferenceFromExternalPeerIsDiscarded() throws {
        let attributes = Self.origin + Self.asPath + Self.nextHop + [0x40, 5, 4, 0, 0, 0, 200]
        let external = try T.decodeUpdate(attributes: attributes, context: T.external)
        #expect(external?.announced == [T.prefix("198.51.100.0/24")])
        #expect(external?.attributes.localPreference == nil)
        #expect(
            external?.appliedErrorHandling == [
                .discardAttribute(
                    BGPAttributeError(attributeType: 5, problem: .fromExternalPeer))
            ])
        let internalPeer = try T.decodeUpdate(attributes: attributes, context: T.internalPeer)
        #expect(internalPeer?.attributes.localPreference == 200 && internalPeer?.appliedErrorHandling == [])
        let bad = Self.origin + Self.asPath + Self.nextHop + [0x40, 5, 2, 0, 0]
        #expect(try Self.withdrawnBecause(bad, T.internalPeer)?.problem == .badLength(2))
    }

    @Test func atomicAggregateWithValueAndDuplicatesAreDiscarded() throws {
        let attributes = Self.origin + Self.asPath + Self.nextHop + [0x40, 6, 1, 0] + [0x40, 1, 1, 2]
        let update = try T.decodeUpdate(attributes: attributes)
        #expect(update?.announced == [T.prefix("198.51.100.0/24")])
        #expect(update?.attributes.origin == .igp, "the first ORIGIN wins")
        #expect(
            update?.appliedErrorHandling == [
                .discardAttribute(BGPAttributeError(attributeType: 6, problem: .badLength(1))),
                .discardAttribute(BGPAttributeError(attributeType: 1, problem: .duplicate)),
            ])
    }

    /// Treat-as-withdraw withdraws the IPv6 routes of MP_REACH_NLRI too.
    @Test func treatAsWithdrawCoversMultiprotocolRoutes() throws {
        let nlri: [UInt8] = [64, 0x20, 1, 0x0d, 0xb8, 0, 1, 0, 0]
        let reach: [UInt8] = [0x80, 14, 30, 0, 2, 1, 16] + T.v6("2001:db8::1").bytes + [0] + nlri
        let update = try T.decodeUpdate(attributes: [0x40, 1, 1, 9] + Self.asPath + reach, nlri: [])
        #expect(update?.wasTreatedAsWithdraw == true)
        #expect(update?.attributes.multiprotocolReach == nil)
        #expect(update?.attributes.multiprotocolUnreach?.withdrawn == [T.prefix("2001:db8:1::/64")])
    }

    /// Unknown optional transitive attributes are carried; unknown non-transitive ones dropped.
    @Test func unknownOptionalAttributes() throws {
        let attributes = Self.origin + Self.asPath + Self.nextHop + [0xc0, 99, 2, 1, 2] + [0x80, 98, 1, 5]
        let update = try T.decodeUpdate(attributes: attributes)
        #expect(update?.attributes.otherAttributes == [BGPRawAttribute(flags: 0xc0, type: 99, value: [1, 2])])
    }

    /// The extended-length flag is accepted on any attribute, however short (FRR sets it).
    @Test func extendedLengthOnShortAttributes() throws {
        let attributes: [UInt8] =
            [0x50, 1, 0, 1, 0] + [0x50, 2, 0, 6, 2, 1, 0, 0, 0xfd, 0xea]
            + [0x50, 3, 0, 4, 192, 0, 2, 1]
        let update = try T.decodeUpdate(attributes: attributes)
        #expect(update?.appliedErrorHandling == [])
        #expect(update?.attributes.nextHop == T.v4("192.0.2.1"))
    }

    /// Trailing bits past a prefix length are ignored, not an error (RFC 4271 §4.3).
    @Test func hostBitsPastThePrefixLengthAreMasked() throws {
        let update = try T.decodeUpdate(attributes: T.validV4Attributes, nlri: [20, 10, 1, 0xff])
        #expect(update?.announced == [T.prefix("10.1.240.0/20")])
    }

    /// Random bytes after a valid header never trap; they decode, wait or throw.
    @Test func randomBodiesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let type = UInt8.random(in: 1...5, using: &generator)
            let body = (0..<Int.random(in: 0...60, using: &generator)).map { _ in UInt8.random(in: 0...255) }
            var buffer = T.frame(type: type, body: body)
            _ = try? BGPMessage.read(from: &buffer, context: Bool.random() ? T.external : T.internalPeer)
        }
    }
}
