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

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }

    static func unhex(_ text: Substring) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var i = text.startIndex
        while i < text.endIndex {
            let j = text.index(i, offsetBy: 2)
            guard let b = UInt8(text[i..<j], radix: 16) else { return nil }
            out.append(b)
            i = j
        }
        return out
    }

    public var storeKey: String { "sy:f:\(service):\(Self.hex(flow.bytes))" }
    public var message: String { "\(service)|\(Self.hex(flow.bytes))|\(backend)|\(origin)" }

    public init?(message: String) {
        let parts = message.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 4, let bytes = Self.unhex(parts[1]), let flow = FlowKey(bytes: bytes) else { return nil }
        self.init(service: String(parts[0]), flow: flow, backend: String(parts[2]), origin: String(parts[3]))
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
