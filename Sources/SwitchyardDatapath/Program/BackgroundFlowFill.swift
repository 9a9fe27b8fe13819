import CLibbpf
import DatapathModel
import Glibc
import SwitchyardABI
import SwitchyardCore

/// Lab only: fills a running node's flow table (through its pin) with crafted background flows,
/// so a scenario meets a table as full as a busy production node's. The entries sit where the
/// datapath's own placement rule puts them (`FlowCandidateSets.placement`, never evicting), for
/// a service id and backend index no configuration uses, so no packet ever matches them and the
/// agent neither shares nor purges them; their last-seen lies far in the future, so the table
/// treats them as busy flows that a new flow may not push out.
public enum BackgroundFlowFill {
    /// The service id and backend index of background entries: the last of each range.
    public static let service = SY_MAX_SERVICES - 1
    public static let backend = SY_MAX_BACKENDS - 1
    /// How far ahead of now their last-seen is dated: ~12 days at HZ=1000, beyond any lab run.
    public static let protection: UInt32 = 1 << 30

    /// What a fill did to one table.
    public struct Result: Sendable, Hashable, Codable {
        /// Ways in the table (the layout's sets × ways) and the capacity it was configured for.
        public var slots: Int
        public var capacity: Int
        /// Occupied ways before and after the fill (every entry, the node's own included).
        public var before: Int
        public var after: Int
        /// Background entries written, and those that found both candidate sets full.
        public var written: Int
        public var busy: Int
        /// `after` as a fraction of `capacity`.
        public var fraction: Double { capacity > 0 ? Double(after) / Double(capacity) : 0 }
    }

    /// Adds background entries until `fraction` of `capacity` ways are occupied. `now` is the
    /// datapath's jiffies (`currentJiffies()`); keys come from 198.18.0.0/15 (RFC 2544, never a
    /// lab client) towards `destination`, drawn from `seed`.
    public static func fill(
        pin path: String, capacity: Int, fraction: Double, destination: IPAddress, now: UInt32, seed: UInt64
    ) throws -> Result {
        try withTable(pin: path) { memory, layout in
            let before = occupied(memory, layout)
            var result = Result(
                slots: layout.setCount * FlowTableLayout.ways, capacity: capacity, before: before, after: before,
                written: 0, busy: 0)
            let target = Int((Double(capacity) * min(max(fraction, 0), 1)).rounded())
            var rng = SplitMix64(seed: seed)
            var attempts = 0
            while result.after < target, attempts < 4 * target {
                attempts += 1
                let bits = rng.next()
                let key = FlowKey(
                    source: .v4(IPv4Address(0xC612_0000 | UInt32(truncatingIfNeeded: bits >> 32) & 0x1_ffff)),
                    destination: destination, sourcePort: UInt16(truncatingIfNeeded: bits >> 8) | 1024,
                    destinationPort: 80, proto: 6)
                let placement = FlowTableMemory(memory: memory, layout: layout).install(
                    key, entry: DatapathTables.FlowEntry(backend: backend, service: service), remote: true, now: now,
                    evictIdle: UInt32(Int32.max), protect: protection)
                switch placement {
                case .write:
                    result.written += 1
                    result.after += 1
                case .busy: result.busy += 1
                case .present: break
                }
            }
            return result
        }
    }

    /// Occupied ways of the table behind `pin`, and how many are background entries.
    public static func census(pin path: String) throws -> (occupied: Int, background: Int) {
        try withTable(pin: path) { memory, layout in
            var background = 0
            for index in 0..<layout.setCount {
                let set = memory.load(fromByteOffset: index * MemoryLayout<sy_flow_set>.stride, as: sy_flow_set.self)
                for w in 0..<FlowTableLayout.ways where set.tag(w) != 0 && set.slot(w).service == service {
                    background += 1
                }
            }
            return (occupied(memory, layout), background)
        }
    }

    /// The kernel's jiffies now, from /proc/timer_list (the clock the flow table's last-seen uses).
    public static func currentJiffies() throws -> UInt32 {
        // A proc file reports size 0: read it by lines, not by its size.
        guard let file = fopen("/proc/timer_list", "r") else { throw BPFError("open /proc/timer_list", errno: errno) }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("jiffies: ") else { continue }
            let digits = text.dropFirst("jiffies: ".count).prefix { $0.isNumber }
            if let value = UInt64(digits) { return UInt32(truncatingIfNeeded: value) }
        }
        throw BPFError("no jiffies line in /proc/timer_list", errno: ENOENT)
    }

    private static func occupied(_ memory: UnsafeMutableRawPointer, _ layout: FlowTableLayout) -> Int {
        var count = 0
        for index in 0..<layout.setCount {
            let base = index * MemoryLayout<sy_flow_set>.stride
            for w in 0..<FlowTableLayout.ways where memory.load(fromByteOffset: base + w * 4, as: UInt32.self) != 0 {
                count += 1
            }
        }
        return count
    }

    private static func withTable<T>(
        pin path: String, _ body: (UnsafeMutableRawPointer, FlowTableLayout) throws -> T
    ) throws -> T {
        let fd = bpf_obj_get(path)
        guard fd >= 0 else { throw BPFError("open pinned flow table \(path)", errno: errno) }
        defer { close(fd) }
        var info = bpf_map_info()
        var size = UInt32(MemoryLayout<bpf_map_info>.size)
        guard bpf_obj_get_info_by_fd(fd, &info, &size) == 0, info.value_size == MemoryLayout<sy_flow_set>.size else {
            throw BPFError("\(path) is not a Switchyard flow table of this ABI", errno: EINVAL)
        }
        let layout = FlowTableLayout(setCount: info.max_entries)
        let length = Int(info.max_entries) * MemoryLayout<sy_flow_set>.stride
        guard let memory = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), memory != MAP_FAILED else {
            throw BPFError("mmap \(path)", errno: errno)
        }
        defer { munmap(memory, length) }
        return try body(memory, layout)
    }
}
