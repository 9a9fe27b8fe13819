/// What the decoder and encoder must know about the session: both come from the OPEN exchange and
/// the configuration, so the same bytes can mean different things on different sessions.
public struct BGPCodecContext: Hashable, Sendable {
    /// RFC 6793: AS_PATH carries 4-octet ASNs when both sides advertised the capability.
    public var fourOctetASN: Bool
    /// External peer (eBGP): RFC 7606 §7.5 has LOCAL_PREF from it discarded, and RFC 4271 §5.1.5
    /// forbids sending it one.
    public var peerIsExternal: Bool

    public init(fourOctetASN: Bool, peerIsExternal: Bool) {
        self.fourOctetASN = fourOctetASN
        self.peerIsExternal = peerIsExternal
    }

    /// Before the OPEN exchange: 2-octet ASNs (RFC 6793 §4.1), external peer.
    public static let beforeOpen = BGPCodecContext(fourOctetASN: false, peerIsExternal: true)
}
