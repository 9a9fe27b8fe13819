import NIOCore
import SwitchyardBFD

/// The BFD decoder's fuzz entry, shared by the libFuzzer target (Fuzz/) and the ordinary test
/// suite (this file is symlinked into Tests/SwitchyardBFDTests). Every input is a run of UDP
/// payloads from a peer we do not trust, each prefixed by one length octet; every packet the codec
/// accepts must survive encoding and is fed to a running session, which must never trap.
public enum BFDFuzzEntry {
    public static func bfd(_ input: [UInt8]) {
        var session = BFDSessionStateMachine(configuration: BFDSessionConfiguration(localDiscriminator: 0x5359_0001))
        var now = Duration.zero
        _ = session.start(at: now, random: 0.5)
        var rest = input[...]
        while let count = rest.first {
            let datagram = rest.dropFirst().prefix(Int(count))
            rest = rest.dropFirst(1 + datagram.count)
            now += .milliseconds(Int64(count))
            let packet: BFDControlPacket
            do {
                packet = try BFDControlPacket(datagram: ByteBuffer(bytes: datagram))
            } catch {
                continue // discarded and counted, as the receiver does
            }
            var encoded = ByteBuffer()
            packet.write(into: &encoded)
            let reread = try? BFDControlPacket(datagram: encoded)
            check(reread == packet, "\(packet) did not survive encoding")
            // Timers fire as the clock passes them; then the packet arrives.
            _ = session.transmitTimerExpired(at: now, random: Double(count) / 255)
            _ = session.detectionTimerExpired(at: now, random: 0)
            for action in session.received(packet, at: now, random: Double(count) / 255) {
                if case .send(let sent) = action {
                    check(sent.myDiscriminator == 0x5359_0001, "sent with another discriminator: \(sent)")
                    check(!(sent.poll && sent.final), "P and F in one packet: \(sent)")
                }
            }
        }
    }

    /// A broken invariant is a finding: trap so libFuzzer saves the input.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("fuzz invariant: \(message())") }
    }
}
