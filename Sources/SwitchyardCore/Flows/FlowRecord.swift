/// A flow as LB nodes share it: by names every node resolves the same way (service key, the
/// flow key's bytes, backend identity) — never by datapath ids, which are per node.
///
/// Store layout (Redis; cluster-safe: one key per flow, no hash tags, no multi-key commands):
///   key      sy:f:<service>:<flow key hex>   value: the backend identity   TTL: ttlSeconds
///   channel  sy:flows                        message: service|flow hex|backend|origin node
/// A joining node reads the keys (SCAN + pipelined GET) before it takes traffic; running nodes
/// follow the channel. Pub/sub rather than a stream: an entry missed while disconnected is
/// recovered from the keys on reconnect, so no replay log is needed.
public struct FlowRecord: Sendable, Equatable {
    public var service: String
    public var flow: FlowKey
    public var backend: String
    public var origin: String

    public static let channel = "sy:flows"
    public static let keyPattern = "sy:f:*"

    public init(service: String, flow: FlowKey, backend: String, origin: String) {
        self.service = service
        self.flow = flow
        self.backend = backend
        self.origin = origin
    }

    private static let digits = Array("0123456789abcdef".utf8)

    /// Lower-case hex, two digits a byte: one allocation (this runs twice per shared flow).
    static func hex(_ bytes: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            for (i, b) in bytes.enumerated() {
                out[2 * i] = digits[Int(b >> 4)]
                out[2 * i + 1] = digits[Int(b & 0x0f)]
            }
            return bytes.count * 2
        }
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Hex digits (either case) to bytes; nil for an odd count or any other character.
    static func unhex(_ text: Substring) -> [UInt8]? { unhex(text.utf8) }

    static func unhex(_ digits: some Collection<UInt8>) -> [UInt8]? {
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var high: UInt8?
        for c in digits {
            guard let n = nibble(c) else { return nil }
            if let h = high {
                out.append(h << 4 | n)
                high = nil
            } else {
                high = n
            }
        }
        return out
    }

    public var storeKey: String { "sy:f:\(service):\(Self.hex(flow.bytes))" }
    public var message: String { "\(service)|\(Self.hex(flow.bytes))|\(backend)|\(origin)" }

    public init?(message: String) {
        var message = message
        guard let record = message.withUTF8({ Self.parse(message: $0) }) else { return nil }
        self = record
    }

    /// `service|flow hex|backend|origin` from its bytes: four fields exactly (an empty one is kept).
    static func parse(message bytes: UnsafeBufferPointer<UInt8>) -> FlowRecord? {
        let bar = UInt8(ascii: "|")
        var cuts: [Int] = []
        for (i, c) in bytes.enumerated() where c == bar {
            cuts.append(i)
            if cuts.count > 3 { return nil }
        }
        guard cuts.count == 3 else { return nil }
        func text(_ from: Int, _ to: Int) -> String { String(decoding: bytes[from..<to], as: UTF8.self) }
        guard let flowBytes = unhex(bytes[(cuts[0] + 1)..<cuts[1]]), let flow = FlowKey(bytes: flowBytes) else {
            return nil
        }
        return FlowRecord(
            service: text(0, cuts[0]), flow: flow, backend: text(cuts[1] + 1, cuts[2]),
            origin: text(cuts[2] + 1, bytes.count))
    }

    /// From a store key and its value (origin unknown: "store").
    public init?(storeKey: String, backend: String) {
        guard storeKey.hasPrefix("sy:f:"), let colon = storeKey.lastIndex(of: ":"),
            let bytes = Self.unhex(storeKey[storeKey.index(after: colon)...]), let flow = FlowKey(bytes: bytes)
        else { return nil }
        let service = storeKey[storeKey.index(storeKey.startIndex, offsetBy: 5)..<colon]
        self.init(service: String(service), flow: flow, backend: backend, origin: "store")
    }
}
