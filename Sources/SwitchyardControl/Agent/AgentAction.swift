import DatapathModel
import SwitchyardCore

/// What `AgentState` asks its executor to do. The executor performs each action in order and
/// reports what happened as the matching event (`programmed` / `programmingFailed`, …).
public enum AgentAction: Sendable, Equatable {
    /// Make the datapath's maps say this (the writer diffs against what it last wrote).
    case program(DatapathTables, reason: String)
    /// Write the id allocation to disk atomically (temp file, fsync, rename).
    case persistAllocation(IDAllocation)
    /// Remove every flow entry naming one of these backend indices and report them.
    case purgeFlows(backends: Set<UInt32>)
    /// Remove these flow entries (flows the client reset).
    case removeFlows([FlowKey])
    /// Install entries shared by other nodes (remote entries) and report the result.
    case installFlows([FlowKey: DatapathTables.FlowEntry])
    /// This node's own new stateful flows, as its datapath reported them: any the datapath found
    /// no way for (both candidate sets full of busy flows) is written by the agent — into a way
    /// freed since, else the overflow — so this node keeps it on its backend through a ring
    /// change too, as every other node does through the store. Entries present are left alone.
    case keepOwnFlows([FlowKey: DatapathTables.FlowEntry])
    /// Hand these writes to the flow store's queue.
    case writeStore([FlowStoreWrite])
    /// The health probes that should be running from now on (the whole set).
    case runProbes([ProbeTarget])
    /// The VIPs this node should announce over BGP from now on, each as its host route (the whole
    /// set; the speaker diffs it). Emitted only when the set or an attribute changes.
    case announce([IPPrefix: RouteAnnouncement])
    /// Report `timerFired(timer)` after this long. Arming an armed timer is never asked for.
    case armTimer(AgentTimer, after: Duration)
    case log(AgentLogRecord)
}

/// The agent's own timers: each retries an action whose I/O failed, or re-decides what to announce.
public enum AgentTimer: String, Sendable, Hashable, CaseIterable {
    /// Programming failed with no config to fall back to (a health change, a restore): try again.
    case reprogram
    /// Purging a removed backend's flows failed: its index stays retired until it succeeds.
    case retryPurge
    /// Saving the id allocation failed: ids in the datapath are not yet on disk.
    case retryPersist
    /// The announcements change with time alone (a drain's GRACEFUL_SHUTDOWN period ends):
    /// decide again.
    case reannounce
}

/// One structured log line: a message and the fields an operator needs to reconstruct what
/// happened (service, backend, node, old → new, reason).
public struct AgentLogRecord: Sendable, Equatable, CustomStringConvertible {
    public enum Level: String, Sendable, Equatable {
        case debug, info, notice, warning, error
    }

    public var level: Level
    public var message: String
    public var metadata: [String: String]

    public init(_ level: Level, _ message: String, _ metadata: [String: String] = [:]) {
        self.level = level
        self.message = message
        self.metadata = metadata
    }

    public var description: String {
        "\(level) \(message) "
            + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}

/// A backend the agent probes.
public struct ProbeTarget: Sendable, Hashable {
    public var key: BackendKey
    public var service: String
    public var check: HealthCheck

    public init(key: BackendKey, service: String, check: HealthCheck) {
        self.key = key
        self.service = service
        self.check = check
    }

    public var address: IPAddress { key.backend.address }
    public var port: UInt16 { key.backend.port }
}

/// What the writer changed in one programming pass.
public struct ProgrammingResult: Sendable, Equatable {
    public var ringsSwapped = 0
    public var servicesWritten = 0
    public var servicesRemoved = 0
    public var backendsWritten = 0

    public init(ringsSwapped: Int = 0, servicesWritten: Int = 0, servicesRemoved: Int = 0, backendsWritten: Int = 0) {
        self.ringsSwapped = ringsSwapped
        self.servicesWritten = servicesWritten
        self.servicesRemoved = servicesRemoved
        self.backendsWritten = backendsWritten
    }
}

/// One flow-table entry as the executor found it.
public struct ScannedFlow: Sendable, Equatable {
    public var key: FlowKey
    public var entry: DatapathTables.FlowEntry
    /// `SY_FLOW_F_*`.
    public var flags: UInt32

    public init(key: FlowKey, entry: DatapathTables.FlowEntry, flags: UInt32 = 0) {
        self.key = key
        self.entry = entry
        self.flags = flags
    }
}

/// A datapath report about a stateful flow (the ring buffer's `sy_flow_event`), as the model
/// defines it.
public typealias FlowReport = FlowTableReport

/// How installing shared entries went.
public struct FlowInstallResult: Sendable, Equatable {
    /// Entries written; entries already present (a refresh: protection extended); entries not
    /// written because their set held only busy flows.
    public var written = 0, present = 0, busy = 0

    public init(written: Int = 0, present: Int = 0, busy: Int = 0) {
        self.written = written
        self.present = present
        self.busy = busy
    }
}
