import NIOCore
import SwitchyardCore

/// Packs withdrawals and announcements into as few UPDATEs as fit `BGPWire.maxMessageLength`
/// (RFC 4271 §4.1), counting octets exactly as `BGPMessage.write` will write them.
enum BGPUpdatePacker {
    /// Header, Withdrawn Routes Length and Total Path Attribute Length (RFC 4271 §4.3).
    static let emptyUpdateLength = BGPWire.minUpdateLength
    /// AFI, SAFI of MP_UNREACH_NLRI (RFC 4760 §4).
    static let unreachFixedLength = 3
    /// AFI, SAFI, next-hop length and reserved octet of MP_REACH_NLRI (RFC 4760 §3).
    static let reachFixedLength = 5

    /// Withdrawals of one family, in order, split where a message would overflow.
    static func withdrawals(_ prefixes: [IPPrefix], family: BGPAddressFamily) -> [BGPUpdate] {
        let chunks = pack(prefixes) { nlriLength in
            family == .ipv4Unicast
                ? emptyUpdateLength + nlriLength
                : emptyUpdateLength + BGPPathAttributes.encodedLength(valueLength: unreachFixedLength + nlriLength)
        }
        return chunks.map { chunk in
            family == .ipv4Unicast
                ? BGPUpdate(withdrawn: chunk)
                : BGPUpdate(
                    attributes: BGPPathAttributes(
                        multiprotocolUnreach: BGPMultiprotocolUnreach(family: family, withdrawn: chunk)))
        }
    }

    /// Announcements sharing one set of path attributes (NEXT_HOP or MP_REACH_NLRI added here).
    static func announcements(
        _ prefixes: [IPPrefix], attributes: BGPPathAttributes, nextHop: BGPNextHop,
        family: BGPAddressFamily, context: BGPCodecContext
    ) -> [BGPUpdate] {
        var base = attributes
        if family == .ipv4Unicast, case .v4(let address) = nextHop { base.nextHop = address }
        var encoded = ByteBuffer()
        base.write(into: &encoded, context: context)
        let attributesLength = encoded.readableBytes
        let chunks = pack(prefixes) { nlriLength in
            family == .ipv4Unicast
                ? emptyUpdateLength + attributesLength + nlriLength
                : emptyUpdateLength + attributesLength
                    + BGPPathAttributes.encodedLength(
                        valueLength: reachFixedLength + nextHop.encodedLength + nlriLength)
        }
        return chunks.map { chunk in
            if family == .ipv4Unicast { return BGPUpdate(attributes: base, announced: chunk) }
            var withReach = base
            withReach.multiprotocolReach = BGPMultiprotocolReach(family: family, nextHop: nextHop, announced: chunk)
            return BGPUpdate(attributes: withReach)
        }
    }

    /// Greedy: each message takes prefixes while `messageLength(nlriOctets)` stays within the limit.
    private static func pack(_ prefixes: [IPPrefix], messageLength: (Int) -> Int) -> [[IPPrefix]] {
        var chunks: [[IPPrefix]] = []
        var current: [IPPrefix] = []
        var nlriLength = 0
        for prefix in prefixes {
            let length = BGPPrefixCodec.encodedLength(prefix)
            if !current.isEmpty, messageLength(nlriLength + length) > BGPWire.maxMessageLength {
                chunks.append(current)
                current = []
                nlriLength = 0
            }
            current.append(prefix)
            nlriLength += length
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }
}
