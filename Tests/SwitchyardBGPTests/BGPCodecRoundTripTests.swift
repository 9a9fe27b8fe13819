import NIOCore
import SwitchyardCore
import Testing

@testable import SwitchyardBGP

/// Every message type written and read back, whole and one byte at a time (STYLE habit 5).
@Suite struct BGPCodecRoundTripTests {
    static let v4Update = BGPUpdate(
        withdrawn: [T.prefix("10.1.0.0/16"), T.prefix("10.2.3.4/32")],
        attributes: BGPPathAttributes(
            origin: .igp, asPath: [BGPASPathSegment(.sequence, [65001, 4_200_000_000]), BGPASPathSegment(.set, [7])],
            nextHop: T.v4("192.0.2.1"), multiExitDiscriminator: 50, atomicAggregate: true,
            communities: [BGPCommunity(asn: 65001, value: 100), .gracefulShutdown],
            largeCommunities: [BGPLargeCommunity(4_200_000_000, 1, 2)],
            otherAttributes: [BGPRawAttribute(flags: 0xe0, type: 99, value: [1, 2, 3])]),
        announced: [T.prefix("198.51.100.7/32"), T.prefix("0.0.0.0/0"), T.prefix("203.0.113.128/25")])

    static let v6Update = BGPUpdate(
        attributes: BGPPathAttributes(
            origin: .incomplete, asPath: [BGPASPathSegment(.sequence, [65002])],
            communities: [BGPCommunity(asn: 65002, value: 200)],
            multiprotocolReach: BGPMultiprotocolReach(
                family: .ipv6Unicast, nextHop: .v6(global: T.v6("2001:db8::1"), linkLocal: T.v6("fe80::1")),
                announced: [T.prefix("2001:db8:1::1/128"), T.prefix("2001:db8:ff::/48")]),
            multiprotocolUnreach: BGPMultiprotocolUnreach(
                family: .ipv6Unicast, withdrawn: [T.prefix("2001:db8:9::/64")])))

    static let messages: [BGPMessage] = [
        .open(BGPOpen(asn: 65001, holdTime: 90, identifier: T.v4("10.0.0.1"), families: [.ipv4Unicast, .ipv6Unicast])),
        .open(BGPOpen(asn: 4_200_000_001, holdTime: 0, identifier: T.v4("10.0.0.2"), families: [.ipv6Unicast])),
        .open(
            BGPOpen(
                myAS: 65003, holdTime: 3, identifier: T.v4("10.0.0.3"),
                capabilities: [
                    .extendedMessage, .enhancedRouteRefresh, .other(code: 64, value: [0x40, 0x78]), .routeRefresh,
                ])),
        .update(v4Update),
        .update(v6Update),
        .update(BGPUpdate.endOfRIB(.ipv4Unicast)),
        .update(BGPUpdate.endOfRIB(.ipv6Unicast)),
        .keepalive,
        .notification(BGPNotification(code: 4, subcode: 0)),
        .notification(BGPNotification(code: 1, subcode: 2, data: [0x10, 0x01])),
        .notification(
            .cease(
                subcode: BGPNotification.CeaseSubcode.administrativeShutdown,
                shutdownCommunication: "maintenance: rack 4 ✈")),
        .routeRefresh(BGPRouteRefresh(family: .ipv6Unicast)),
    ]

    @Test(arguments: messages)
    func roundTrip(_ message: BGPMessage) throws {
        var buffer = T.encode(message)
        #expect(buffer.readableBytes == message.encodedLength(context: T.external))
        #expect(try BGPMessage.read(from: &buffer, context: T.external) == message)
        #expect(buffer.readableBytes == 0)
    }

    /// Every strict prefix of a message decodes to nil and leaves the buffer as it was.
    @Test(arguments: messages)
    func everyPrefixIsIncomplete(_ message: BGPMessage) throws {
        let whole = T.encode(message)
        for length in 0..<whole.readableBytes {
            var partial = whole.getSlice(at: 0, length: length) ?? ByteBuffer()
            let before = partial
            #expect(try BGPMessage.read(from: &partial, context: T.external) == nil, "prefix of \(length) octets")
            #expect(partial == before)
        }
    }

    @Test func oneByteAtATime() throws {
        var whole = ByteBuffer()
        for message in Self.messages { message.write(into: &whole, context: T.external) }
        var buffer = ByteBuffer()
        var decoded: [BGPMessage] = []
        for byte in whole.readableBytesView {
            buffer.writeInteger(byte)
            while let message = try BGPMessage.read(from: &buffer, context: T.external) { decoded.append(message) }
        }
        #expect(decoded == Self.messages)
    }

    /// RFC 6793 §4.1: My AS is AS_TRANS only when the ASN does not fit in two octets.
    @Test func myASIsASTransOnlyForLargeASNs() {
        let small = BGPOpen(asn: 65535, holdTime: 90, identifier: T.v4("10.0.0.1"), families: [.ipv4Unicast])
        let large = BGPOpen(asn: 65536, holdTime: 90, identifier: T.v4("10.0.0.1"), families: [.ipv4Unicast])
        #expect(small.myAS == 65535 && small.autonomousSystem == 65535)
        #expect(large.myAS == 23456 && large.autonomousSystem == 65536)
    }

    /// Without the 4-octet capability AS_PATH is 2 octets per ASN and large ASNs become AS_TRANS.
    @Test func asPathFollowsTheNegotiatedWidth() throws {
        let update = BGPUpdate(
            attributes: BGPPathAttributes(
                origin: .igp, asPath: [BGPASPathSegment(.sequence, [65001, 4_200_000_000])],
                nextHop: T.v4("192.0.2.1")),
            announced: [T.prefix("198.51.100.0/24")])
        let twoOctet = BGPCodecContext(fourOctetASN: false, peerIsExternal: true)
        let narrow = T.encode(.update(update), twoOctet)
        let wide = T.encode(.update(update), T.external)
        #expect(wide.readableBytes - narrow.readableBytes == 4)
        guard case .update(let decoded)? = try T.decode(narrow, twoOctet) else {
            Issue.record("no update")
            return
        }
        #expect(decoded.attributes.asPath == [BGPASPathSegment(.sequence, [65001, 23456])])
    }

    /// Attribute values over 255 octets get the extended-length flag; shorter ones do not.
    @Test func extendedLengthOnlyWhenNeeded() throws {
        let many = (0..<70).map { BGPCommunity(asn: 65001, value: UInt16($0)) }
        let update = BGPUpdate(
            attributes: BGPPathAttributes(
                origin: .igp, asPath: [], nextHop: T.v4("192.0.2.1"),
                communities: many),
            announced: [T.prefix("198.51.100.0/24")])
        let bytes = Array(T.encode(.update(update)).readableBytesView)
        // Header 19, withdrawn length 2, attribute length 2: ORIGIN (4), AS_PATH (3), NEXT_HOP (7).
        let communities = 19 + 4 + 4 + 3 + 7
        #expect(bytes[19 + 4] == 0x40, "ORIGIN: short form")
        #expect(bytes[communities] == 0xd0 && bytes[communities + 1] == 8)
        #expect(try T.decode(T.encode(.update(update))) == .update(update))
    }

    @Test func shutdownCommunicationIsCutAtACharacterBoundary() {
        let long = String(repeating: "é", count: 200) // 400 octets of UTF-8
        let notification = BGPNotification.cease(subcode: 2, shutdownCommunication: long)
        #expect(notification.data.count == 1 + 254)
        #expect(notification.shutdownCommunication == String(repeating: "é", count: 127))
        #expect(BGPNotification(code: 6, subcode: 2, data: [9, 0x41]).shutdownCommunication == nil, "length overruns")
        #expect(BGPNotification.cease(subcode: 3, shutdownCommunication: "x").data.isEmpty, "only shutdown/reset")
    }

    @Test func endOfRIBIsRecognised() {
        #expect(BGPUpdate.endOfRIB(.ipv4Unicast).endOfRIB == .ipv4Unicast)
        #expect(BGPUpdate.endOfRIB(.ipv6Unicast).endOfRIB == .ipv6Unicast)
        #expect(Self.v4Update.endOfRIB == nil)
        #expect(T.encode(.update(.endOfRIB(.ipv4Unicast))).readableBytes == 23)
    }
}
