import SwitchyardCore

/// Every address the allocator must not hand out fresh: held by a Service or reserved while a
/// release is written. Kept sorted per family so "lowest free" walks only these.
struct TakenAddresses: Sendable {
    private var counts: [IPAddress: Int] = [:]
    private var sortedV4: [IPAddress] = []
    private var sortedV6: [IPAddress] = []

    func contains(_ address: IPAddress) -> Bool { counts[address] != nil }

    func sorted(_ family: IPAddress.Family) -> [IPAddress] { family == .v4 ? sortedV4 : sortedV6 }

    /// How many taken addresses of `range` there are (binary search, no walk).
    func count(in range: AddressRange) -> Int {
        let list = sorted(range.family)
        let low = PoolAddresses.firstIndex(in: list, notBelow: range.first)
        var high = low
        var upper = list.count
        while high < upper {
            let middle = (high + upper) / 2
            if list[middle] <= range.last {
                high = middle + 1
            } else {
                upper = middle
            }
        }
        return high - low
    }

    mutating func add(_ address: IPAddress) {
        counts[address, default: 0] += 1
        guard counts[address] == 1 else { return }
        let index = PoolAddresses.firstIndex(in: sorted(address.family), notBelow: address)
        if address.family == .v4 {
            sortedV4.insert(address, at: index)
        } else {
            sortedV6.insert(address, at: index)
        }
    }

    mutating func remove(_ address: IPAddress) {
        guard let count = counts[address] else { return }
        if count > 1 {
            counts[address] = count - 1
            return
        }
        counts[address] = nil
        let index = PoolAddresses.firstIndex(in: sorted(address.family), notBelow: address)
        if address.family == .v4 {
            if index < sortedV4.count, sortedV4[index] == address { sortedV4.remove(at: index) }
        } else {
            if index < sortedV6.count, sortedV6[index] == address { sortedV6.remove(at: index) }
        }
    }
}
