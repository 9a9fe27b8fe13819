import SwitchyardCore

/// Why the cluster store could not do what was asked, said as what happens next.
public enum RedisClusterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The settings name no node to learn the topology from.
    case noSeeds
    /// No node answered `CLUSTER SLOTS` usably: each node and why. The caller tries later.
    case noNodeReachable([String])
    /// These slots have no primary (a shard lost, or resharding): a snapshot or subscription
    /// would miss them, so it is tried again later.
    case slotsUnserved([ClosedRange<Int>])
    /// The primary for a part of the slot space could not be reached for a snapshot or usage.
    case primaryUnreachable(HostPort, String)
    /// A sharded subscription ended (connection lost, or its slot moved): subscribe again from a
    /// fresh topology.
    case subscriptionEnded(HostPort, String)

    public var description: String {
        switch self {
        case .noSeeds:
            "flowStore type redis-cluster needs seeds: at least one cluster node as HOST:PORT"
        case .noNodeReachable(let failures):
            "no Redis Cluster node answered CLUSTER SLOTS (\(failures.joined(separator: "; ").prefix(300))); "
                + "will try again"
        case .slotsUnserved(let ranges):
            "Redis Cluster slots "
                + ranges.prefix(4).map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")
                + " have no primary; will try again"
        case .primaryUnreachable(let node, let error):
            "Redis Cluster primary \(node) could not be read (\(error.prefix(200))); will try again"
        case .subscriptionEnded(let node, let why):
            "sharded subscription on \(node) ended (\(why)); resubscribe from a fresh topology"
        }
    }
}
