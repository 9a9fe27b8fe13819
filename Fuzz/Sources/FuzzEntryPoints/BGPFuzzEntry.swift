import NIOCore
import SwitchyardBGP

/// The BGP decoder's fuzz entry, shared by the libFuzzer target (Fuzz/) and the ordinary test
/// suite (this file is symlinked into Tests/SwitchyardBGPTests). Every input is a stream of
/// messages from a peer we do not trust; its first byte picks the session's codec context.
public enum BGPFuzzEntry {
    /// Decodes messages until the input runs out or the session would be reset. A short read must
    /// consume nothing; a decoded message must encode and decode back to itself.
    public static func bgp(_ input: [UInt8]) {
        guard let first = input.first else { return }
        let context = BGPCodecContext(fourOctetASN: first & 1 == 1, peerIsExternal: first & 2 == 2)
        var buffer = ByteBuffer(bytes: input.dropFirst())
        while buffer.readableBytes > 0 {
            let before = buffer
            let message: BGPMessage?
            do {
                message = try BGPMessage.read(from: &buffer, context: context)
            } catch {
                return // a framing error: the session is reset with the NOTIFICATION it names
            }
            guard let message else {
                check(buffer == before, "a read that returned no message consumed bytes")
                return
            }
            check(buffer.readableBytes < before.readableBytes, "a message decoded from no bytes")
            // What RFC 7606 handling was applied is decode metadata, not on the wire: what must
            // survive encoding is the message as it was understood.
            let understood = withoutHandlingNotes(message)
            var encoded = ByteBuffer()
            understood.write(into: &encoded, context: context)
            let reread = (try? BGPMessage.read(from: &encoded, context: context)).map(withoutHandlingNotes)
            check(reread == understood && encoded.readableBytes == 0, "\(understood) did not survive encoding")
        }
    }

    static func withoutHandlingNotes(_ message: BGPMessage) -> BGPMessage {
        guard case .update(var update) = message else { return message }
        update.appliedErrorHandling = []
        return .update(update)
    }

    /// A broken invariant is a finding: trap so libFuzzer saves the input.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("fuzz invariant: \(message())") }
    }
}
