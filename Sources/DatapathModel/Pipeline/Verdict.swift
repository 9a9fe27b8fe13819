import SwitchyardCore

/// What the datapath does with a frame: `XDP_PASS`, `XDP_TX` with the rewritten frame, or
/// `XDP_DROP` with the reason it counted.
public enum Verdict: Sendable, Equatable, CustomStringConvertible {
    case pass
    case tx([UInt8])
    case drop(DropReason)

    public var description: String {
        switch self {
        case .pass: "pass"
        case .tx(let frame): "tx (\(frame.count) bytes)"
        case .drop(let reason): "drop (\(reason.name))"
        }
    }
}

/// Counter changes caused by one packet: the model's prediction of the datapath's counter maps.
public struct CounterDelta: Sendable, Equatable {
    public struct Service: Sendable, Equatable {
        public var packets: UInt64 = 0
        public var bytes: UInt64 = 0
        public var newFlows: UInt64 = 0
        public var tooBig: UInt64 = 0
        public init(packets: UInt64 = 0, bytes: UInt64 = 0, newFlows: UInt64 = 0, tooBig: UInt64 = 0) {
            self.packets = packets
            self.bytes = bytes
            self.newFlows = newFlows
            self.tooBig = tooBig
        }
    }

    public struct Backend: Sendable, Equatable {
        public var packets: UInt64 = 0
        public var bytes: UInt64 = 0
        public var newFlows: UInt64 = 0
        public init(packets: UInt64 = 0, bytes: UInt64 = 0, newFlows: UInt64 = 0) {
            self.packets = packets
            self.bytes = bytes
            self.newFlows = newFlows
        }
    }

    /// By service id.
    public var services: [UInt32: Service] = [:]
    /// By backend index.
    public var backends: [UInt32: Backend] = [:]
    public var drops: [DropReason: UInt64] = [:]

    public init() {}

}

/// What the pipeline decided and why: for `trace`, logs and fixture checks.
public struct Decision: Sendable, Equatable {
    public enum FlowOutcome: String, Sendable {
        /// A live entry named the backend.
        case hit
        /// No usable entry; the ring chose and an entry was written.
        case inserted
        /// The ring chose; nothing was written (ICMP steering, TCP RST).
        case ringOnly = "ring-only"
    }

    /// The service key, as text ("VIP:port/proto").
    public var service: String
    public var serviceID: UInt32
    public var flowKey: FlowKey
    public var flowHash: UInt64
    public var backend: UInt32?
    public var flow: FlowOutcome?
    /// The entry that was found but not used because its backend is down or unused.
    public var staleEntryBackend: UInt32?
}

/// The pipeline's whole answer for one frame.
public struct PipelineResult: Sendable, Equatable {
    public var verdict: Verdict
    public var counters: CounterDelta
    public var decision: Decision?
    /// Changes of the datapath's event counters (`sy_events`), zeros omitted. The model never
    /// counts `fib_miss` (the FIB is the host's) nor `flow_report_lost` (its ring never fills).
    public var events: [DatapathEvent: UInt64] = [:]
    /// Records written to the flow-event ring buffer, in order.
    public var reports: [FlowTableReport] = []
}
