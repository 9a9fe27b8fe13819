import CLibbpf
import SwitchyardABI

/// Reads the datapath's new-flow reports (ring buffer `sy_flow_events`): one record for every
/// flow-table entry a stateful service creates. Not thread-safe: one poller.
public final class FlowEventReader: @unchecked Sendable {
    private final class Collector {
        var events: [sy_flow_event] = []
    }

    private let collector = Collector()
    private let context: Unmanaged<Collector>
    private let ring: OpaquePointer

    public init(datapath: LBDatapath) throws {
        context = Unmanaged.passRetained(collector)
        guard
            let ring = ring_buffer__new(
                datapath.flowEvents.fd,
                { context, data, size in
                    guard let context, let data, size >= MemoryLayout<sy_flow_event>.size else { return 0 }
                    Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue().events
                        .append(data.loadUnaligned(as: sy_flow_event.self))
                    return 0
                }, context.toOpaque(), nil)
        else {
            context.release()
            throw BPFError("open the flow-event ring buffer", errno: 22)
        }
        self.ring = ring
    }

    deinit {
        ring_buffer__free(ring)
        context.release()
    }

    /// Waits up to `timeoutMs` for reports; returns what arrived.
    public func poll(timeoutMs: Int32) -> [sy_flow_event] {
        _ = ring_buffer__poll(ring, timeoutMs)
        defer { collector.events.removeAll(keepingCapacity: true) }
        return collector.events
    }
}
