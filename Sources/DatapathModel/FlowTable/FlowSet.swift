import SwitchyardABI
import SwitchyardCore

/// `SY_FLOW_F_*`: what the datapath knows about an entry beyond its backend.
public struct FlowFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Installed from the flow store, not created here.
    public static let remote = FlowFlags(rawValue: SY_FLOW_F_REMOTE)
    /// A stateful flow saw FIN or RST: no more refreshes until a SYN re-opens it.
    public static let closing = FlowFlags(rawValue: SY_FLOW_F_CLOSING)
    /// A stateful TCP flow that has sent only SYNs: not shared until the handshake's ACK.
    public static let embryonic = FlowFlags(rawValue: SY_FLOW_F_EMBRYONIC)

    public var description: String {
        let names = [(Self.remote, "remote"), (.closing, "closing"), (.embryonic, "embryonic")]
            .filter { contains($0.0) }.map(\.1)
        let unknown = rawValue & ~(Self.remote.rawValue | Self.closing.rawValue | Self.embryonic.rawValue)
        return (names + (unknown != 0 ? ["0x\(String(unknown, radix: 16))"] : [])).joined(separator: "|")
    }
}

/// One occupied way of a set: the tag and last-seen time from the set's header line and the
/// slot (`struct sy_flow_slot`). `check` is stored, not derived, so a torn entry can be held.
public struct FlowWay: Sendable, Hashable, CustomStringConvertible {
    /// `sy_flow_tag` of the key's hash; never 0 (0 is an empty way, which is `nil` here).
    public var tag: UInt32
    /// Low 32 bits of jiffies; may lie in the future (protected remote entries).
    public var lastSeen: UInt32
    public var key: FlowKey
    public var backend: UInt32
    public var service: UInt32
    public var flags: FlowFlags
    public var check: UInt32
    /// Jiffies the entry was last reported to the flow store (stateful services).
    public var synced: UInt32

    public init(
        tag: UInt32, lastSeen: UInt32, key: FlowKey, backend: UInt32, service: UInt32,
        flags: FlowFlags, check: UInt32, synced: UInt32
    ) {
        self.tag = tag
        self.lastSeen = lastSeen
        self.key = key
        self.backend = backend
        self.service = service
        self.flags = flags
        self.check = check
        self.synced = synced
    }

    /// A well-formed entry for `key`, its tag and check computed as the datapath does.
    public init(
        key: FlowKey, hash: UInt64, backend: UInt32, service: UInt32, flags: FlowFlags,
        lastSeen: UInt32, synced: UInt32
    ) {
        let tag = FlowTableLayout.tag(hash)
        self.init(
            tag: tag, lastSeen: lastSeen, key: key, backend: backend, service: service, flags: flags,
            check: FlowTableLayout.check(tag: tag, backend: backend, service: service), synced: synced)
    }

    /// False for an entry torn by concurrent writers: the datapath treats it as a miss.
    public var checkHolds: Bool { check == FlowTableLayout.check(tag: tag, backend: backend, service: service) }

    public var entry: DatapathTables.FlowEntry { DatapathTables.FlowEntry(backend: backend, service: service) }

    public var description: String {
        "\(key) → backend \(backend) service \(service) tag 0x\(String(tag, radix: 16))"
            + " flags [\(flags)] seen \(lastSeen) synced \(synced)" + (checkHolds ? "" : " TORN")
    }
}

/// One set: `FlowTableLayout.ways` ways, each empty (`nil`) or occupied. What an empty way's
/// bytes hold in the kernel is of no consequence (only the tag is read) and is not modelled.
public struct FlowSet: Sendable, Hashable {
    public var ways: [FlowWay?]

    public init() { ways = Array(repeating: nil, count: FlowTableLayout.ways) }

    public init(ways: [FlowWay?]) { self.ways = ways }

    public var isEmpty: Bool { ways.allSatisfy { $0 == nil } }

    /// `find_way`: the way holding `key`, or nil. A matching way whose check fails was torn by
    /// concurrent writers: `torn` says so; the datapath treats it as a miss and rewrites that way.
    public func find(_ key: FlowKey, tag: UInt32) -> (way: Int, torn: Bool)? {
        for (w, way) in ways.enumerated() {
            guard let way, way.tag == tag, way.key == key else { continue }
            return (w, !way.checkHolds)
        }
        return nil
    }

    /// Empty ways: `victim_way` prefers the candidate set with more of them.
    public var emptyWayCount: Int { ways.count { $0 == nil } }

    /// Empty ways, and the one an insert takes: `preferred` when it is empty, else the first
    /// (`empty_ways`).
    func emptyWays(preferring preferred: Int) -> (count: Int, chosen: Int?) {
        let chosen =
            ways.indices.contains(preferred) && ways[preferred] == nil ? preferred : ways.firstIndex { $0 == nil }
        return (emptyWayCount, chosen)
    }
}
