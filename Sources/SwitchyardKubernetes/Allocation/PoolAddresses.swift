import SwitchyardCore

/// A pool's `addresses` parsed once: the valid entries merged into sorted, disjoint ranges (so
/// overlapping entries are neither counted twice nor handed out twice), the entries that did not
/// parse, and the `avoidBuggyIPs` rule.
public struct PoolAddresses: Hashable, Sendable {
    /// Sorted (IPv4 first), disjoint and non-adjacent.
    public let ranges: [AddressRange]
    public let errors: [AddressRangeError]
    public let avoidBuggyIPs: Bool

    public init(entries: [String], avoidBuggyIPs: Bool = false) {
        var parsed: [AddressRange] = []
        var errors: [AddressRangeError] = []
        for entry in entries {
            do {
                parsed.append(try AddressRange(parsing: entry))
            } catch {
                errors.append(error)
            }
        }
        if entries.isEmpty {
            errors.append(AddressRangeError(entry: "", reason: "a pool needs at least one address entry"))
        }
        self.ranges = Self.merged(parsed)
        self.errors = errors
        self.avoidBuggyIPs = avoidBuggyIPs
    }

    /// Whether a range of the pool covers the address (`avoidBuggyIPs` aside): an address the
    /// pool covers is not "outside every pool".
    public func covers(_ address: IPAddress) -> Bool {
        rangeIndex(containing: address) != nil
    }

    /// Whether the pool may hand out this address: covered, and not a .0/.255 when it avoids those.
    public func offers(_ address: IPAddress) -> Bool {
        covers(address) && !(avoidBuggyIPs && isBuggyAddress(address))
    }

    public func hasFamily(_ family: IPAddress.Family) -> Bool { ranges.contains { $0.family == family } }

    /// How many addresses the pool can hand out in a family, saturating at `UInt64.max`.
    public func capacity(_ family: IPAddress.Family) -> UInt64 {
        var total: UInt64 = 0
        for range in ranges where range.family == family {
            let usable = range.size == .max ? .max : range.size - (avoidBuggyIPs ? range.buggyAddressCount : 0)
            let (sum, overflow) = total.addingReportingOverflow(usable)
            total = overflow ? .max : sum
        }
        return total
    }

    /// The lowest address of the family the pool offers that is not in `taken`. `taken` must be
    /// sorted ascending; the walk visits only taken addresses, never the whole range, so it is
    /// quick on an IPv6 /64.
    public func lowestFree(_ family: IPAddress.Family, taken: [IPAddress]) -> IPAddress? {
        for range in ranges where range.family == family {
            var candidate: AddressValue? = AddressValue(range.first)
            let last = AddressValue(range.last)
            candidate = skipBuggy(candidate, family: family)
            var index = Self.firstIndex(in: taken, notBelow: range.first)
            while let current = candidate, current <= last {
                // Advance past taken addresses below the candidate.
                while index < taken.count, AddressValue(taken[index]) < current { index += 1 }
                if index < taken.count, AddressValue(taken[index]) == current {
                    candidate = skipBuggy(current.successor, family: family)
                    index += 1
                    continue
                }
                return current.address(family: family)
            }
        }
        return nil
    }

    private func skipBuggy(_ value: AddressValue?, family: IPAddress.Family) -> AddressValue? {
        guard avoidBuggyIPs, family == .v4 else { return value }
        var value = value
        while let current = value, isBuggyAddress(current.address(family: .v4)) {
            value = current.successor
        }
        return value
    }

    private func rangeIndex(containing address: IPAddress) -> Int? {
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].last < address {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low < ranges.count && ranges[low].contains(address) ? low : nil
    }

    static func firstIndex(in sorted: [IPAddress], notBelow address: IPAddress) -> Int {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < address {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }

    private static func merged(_ ranges: [AddressRange]) -> [AddressRange] {
        var result: [AddressRange] = []
        for range in ranges.sorted(by: { ($0.first, $0.last) < ($1.first, $1.last) }) {
            if let previous = result.last, previous.family == range.family,
                AddressValue(previous.last).successor.map({ $0 >= AddressValue(range.first) }) ?? true
            {
                let last = max(previous.last, range.last)
                if let joined = AddressRange(first: previous.first, last: last) {
                    result[result.count - 1] = joined
                }
            } else {
                result.append(range)
            }
        }
        return result
    }
}
