import SwitchyardABI
import SwitchyardCore

/// Stage 2b (bpf/source_range.h): may this client reach the service? A service with source
/// ranges (Kubernetes' `loadBalancerSourceRanges`) admits only clients inside one of them; a
/// service without any admits everyone. Checked right after the service is found, before the
/// flow table, so a denied client neither creates nor refreshes an entry.
///
/// `IPPrefix.contains` is the one prefix match: a prefix of the other family never holds the
/// client, which is what the kernel's trie gives (the writer stores only the VIP's family).
enum SourceRange {
    static func admits(_ service: DatapathTables.ServiceEntry, client: IPAddress) -> Bool {
        service.sourceRanges.isEmpty || service.sourceRanges.contains { $0.contains(client) }
    }
}

extension DropReason {
    /// The client is outside the service's source ranges (`source_range`).
    public static let sourceRange = SY_DROP_SOURCE_RANGE
}

/// One prefix of the kernel's source-range trie: a service id and a prefix of its VIP's family.
public struct SourceRangeEntry: Hashable, Sendable, CustomStringConvertible {
    public var service: UInt32
    public var prefix: IPPrefix

    public init(service: UInt32, prefix: IPPrefix) {
        self.service = service
        self.prefix = prefix
    }

    public var description: String { "service \(service) \(prefix)" }
}

extension DatapathTables {
    /// What `sy_source_ranges` must hold for these tables: each service's prefixes of its VIP's
    /// family. The others could never hold a client of the service, and stored they would
    /// match the same bits of an address of the other family.
    public var sourceRangeEntries: Set<SourceRangeEntry> {
        var entries: Set<SourceRangeEntry> = []
        for (key, service) in services {
            for prefix in service.sourceRanges where prefix.address.family == key.vip.family {
                entries.insert(SourceRangeEntry(service: service.id, prefix: prefix))
            }
        }
        return entries
    }
}
