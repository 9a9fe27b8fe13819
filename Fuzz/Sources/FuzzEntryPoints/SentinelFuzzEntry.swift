import NIOCore
import SwitchyardStore

/// The Sentinel parsers' fuzz entry, shared by the libFuzzer target (Fuzz/) and the ordinary
/// test suite (this file is symlinked into Tests/SwitchyardStoreTests). Every input is what a
/// sentinel or a server we do not trust may send: RESP replies to `SENTINEL
/// get-master-addr-by-name` and `ROLE`, and `+switch-master` message text.
public enum SentinelFuzzEntry {
    /// The input as message text, then as a stream of replies (each value, and each value's
    /// text, through every parser). A parsed switch must survive writing and parsing again.
    public static func sentinel(_ input: [UInt8]) {
        switchMessage(String(decoding: input, as: UTF8.self))
        var buffer = ByteBuffer(bytes: input)
        while let value = (try? RESPCodec.read(from: &buffer)) ?? nil {
            if case .primary(let address)? = RedisSentinelMessages.primaryAnswer(value) {
                check(address.port != 0, "a primary on port 0 from \(value)")
            }
            _ = RedisSentinelMessages.role(value)
            if let text = value.string { switchMessage(text) }
            if case .array(let items?) = value { items.compactMap(\.string).forEach(switchMessage) }
        }
    }

    static func switchMessage(_ text: String) {
        guard let change = RedisSentinelSwitch(message: text) else { return }
        check(change.from.port != 0 && change.to.port != 0, "a switch to port 0 from \(text)")
        check(RedisSentinelSwitch(message: change.message) == change, "\(change) did not survive writing")
    }

    /// A broken invariant is a finding: trap so libFuzzer saves the input.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("fuzz invariant: \(message())") }
    }
}
