import SwitchyardABI
import SwitchyardCore

/// A record the datapath writes to the flow-event ring buffer for a stateful service's entry
/// (`struct sy_flow_event`): what the agent turns into flow-store writes.
public struct FlowTableReport: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: UInt32, Sendable {
        /// Established here: first non-SYN packet (TCP), first packet (UDP).
        case new = 0
        /// Still in use: at most once per `syncRefresh` per entry.
        case refresh = 1
        /// The client sent FIN.
        case fin = 2
        /// The client sent RST.
        case rst = 3
    }

    public var key: FlowKey
    public var backend: UInt32
    public var service: UInt32
    public var kind: Kind

    public init(key: FlowKey, backend: UInt32, service: UInt32, kind: Kind) {
        self.key = key
        self.backend = backend
        self.service = service
        self.kind = kind
    }

    public var description: String { "\(kind) \(key) → backend \(backend) service \(service)" }
}
