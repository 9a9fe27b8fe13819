import NIOCore
import SwitchyardStore

/// The RESP decoder's fuzz entry, shared by the libFuzzer target (Fuzz/) and the ordinary test
/// suite (this file is symlinked into Tests/SwitchyardStoreTests). Every input is a stream of
/// replies from a server we do not trust.
public enum RESPFuzzEntry {
    /// Decodes values until the input runs out or is rejected. Each decoded value must encode and
    /// decode back to itself, and the bytes it came from, cut short at an input-chosen point, must
    /// decode to nothing (a short read consumes nothing).
    public static func resp(_ input: [UInt8]) {
        var buffer = ByteBuffer(bytes: input)
        while buffer.readableBytes > 0 {
            let before = buffer
            guard let value = try? RESPCodec.read(from: &buffer) else {
                check(buffer == before, "a read that returned no value consumed bytes")
                return
            }
            let consumed = before.readableBytes - buffer.readableBytes
            check(consumed > 0, "a value decoded from no bytes")

            var encoded = ByteBuffer()
            RESPCodec.write(value, into: &encoded)
            let reread = try? RESPCodec.read(from: &encoded)
            check(reread == value && encoded.readableBytes == 0, "\(value) did not survive encoding")

            let cut = Int(input[0]) % consumed
            var short = before.getSlice(at: before.readerIndex, length: cut) ?? ByteBuffer()
            if let early = try? RESPCodec.read(from: &short) {
                check(false, "\(cut) of \(consumed) bytes already decoded to \(early)")
            }
        }
    }

    /// A broken invariant is a finding: trap so libFuzzer saves the input.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("fuzz invariant: \(message())") }
    }
}
