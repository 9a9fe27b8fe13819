import CLibbpf
import DatapathModel
import Foundation
import Glibc
import SwitchyardABI
import Synchronization

/// The loaded LB program and its maps.
///
/// Maps can be pinned under a bpffs directory: a later process that loads with the same pin
/// directory re-uses the live maps (flow table, rings, counters) instead of creating new ones,
/// so forwarding state survives an agent restart. Not thread-safe: one owner at a time.
public final class LBDatapath: @unchecked Sendable {
    public struct Options: Sendable {
        /// Flow-table entries the table must hold; it gets `FlowTableLayout(capacity:)`'s sets
        /// (SY_FLOW_SLOTS_PER_100 ways per 100 flows, two candidate sets per key).
        public var flowCapacity: Int = 1 << 20
        /// Pin every map here (a bpffs directory); nil for private maps.
        public var pinDirectory: String?
        /// A hand-built object to load instead of the embedded one (debugging).
        public var objectPath: String?

        public init(flowCapacity: Int = 1 << 20, pinDirectory: String? = nil, objectPath: String? = nil) {
            self.flowCapacity = flowCapacity
            self.pinDirectory = pinDirectory
            self.objectPath = objectPath
        }
    }

    public let vips: BPFMap
    public let vipFilter: BPFMap
    public let services: BPFMap
    /// The array mirror of `services` the program reads first, and which of its halves is live.
    public let serviceIndex: BPFMap
    public let serviceGeneration: BPFMap
    /// Per service id, the client prefixes it admits (an LPM trie; services flagged only).
    public let sourceRanges: BPFMap
    public let rings: BPFMap
    public let backends: BPFMap
    public let flows: BPFMap
    /// Stateful entries from the store that found no way in `flows` (an LRU hash).
    public let flowOverflow: BPFMap
    public let node: BPFMap
    public let serviceStats: BPFMap
    public let backendStats: BPFMap
    public let drops: BPFMap
    public let events: BPFMap
    public let insertBudget: BPFMap
    public let flowEvents: BPFMap
    public let clock: BPFMap
    /// Cached FIB answers per backend, and the generation that invalidates them all at once.
    public let nexthops: BPFMap
    public let fibGeneration: BPFMap
    /// The flow table's shape: its set count, from the configured capacity.
    public let flowLayout: FlowTableLayout
    /// The LB program and the pass-through program (for veth peers and the benchmark floor).
    public let programFD: Int32
    public let passProgramFD: Int32
    public let clockProgramFD: Int32
    /// Reads one flow set and passes: the benchmark's measure of a cold flow-table read.
    public let coldReadProgramFD: Int32
    /// Benchmark floors (nil in an object built before they existed): both candidate sets' tag
    /// lines at once, and encapsulation with no lookup at all.
    public let coldReadPairProgramFD: Int32?
    public let forwardFloorProgramFD: Int32?
    /// True when the maps were found pinned and re-used rather than created.
    public let reusedPinnedMaps: Bool
    /// Pinned maps left by another build whose layout (type, key, value, entries) this one cannot use —
    /// after an upgrade that grew a table (a new drop reason, a resized flow table) — unpinned and created
    /// afresh, each with what differed. Their contents (counters; for `sy_flows`, the flows) are lost.
    public let replacedPins: [String]

    private let object: OpaquePointer
    private let objectBytes: [UInt8]

    /// Expected key/value sizes per map, from the ABI header: checked before anything is written.
    static let layout: [String: (key: Int, value: Int)] = [
        "sy_vips": (MemoryLayout<sy_vip_addr>.size, MemoryLayout<sy_vip_info>.size),
        "sy_vip_filter": (4, MemoryLayout<sy_vip_filter>.size),
        "sy_services": (MemoryLayout<sy_service_key>.size, MemoryLayout<sy_service>.size),
        "sy_service_index": (4, MemoryLayout<sy_service_slot>.size),
        "sy_service_generation": (4, 4),
        "sy_source_ranges": (MemoryLayout<sy_source_range_key>.size, 4),
        "sy_rings": (4, 4),
        "sy_backends": (4, MemoryLayout<sy_backend>.size),
        "sy_flows": (4, MemoryLayout<sy_flow_set>.size),
        "sy_flow_overflow": (MemoryLayout<sy_flow_key>.size, MemoryLayout<sy_flow_overflow_entry>.size),
        "sy_clock": (4, MemoryLayout<sy_clock>.size),
        "sy_nexthops": (4, MemoryLayout<sy_nexthop>.size),
        "sy_fib_generation": (4, 4),
        "sy_node": (4, MemoryLayout<sy_node>.size),
        "sy_service_stats": (4, MemoryLayout<sy_service_counters>.size),
        "sy_backend_stats": (4, MemoryLayout<sy_backend_counters>.size),
        "sy_drops": (4, 8),
        "sy_events": (4, 8),
        "sy_insert_budget": (4, MemoryLayout<sy_insert_budget>.size),
        "sy_flow_events": (0, 0),
    ]

    public init(options: Options = Options()) throws {
        if let path = options.objectPath {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw BPFError("read BPF object \(path)", errno: ENOENT)
            }
            objectBytes = [UInt8](data)
        } else {
            objectBytes = EmbeddedObject.lb.bytes
        }
        let object = try openBPFObject(objectBytes, "LB")
        self.object = object

        func map(_ name: String) throws -> OpaquePointer {
            guard let m = bpf_object__find_map_by_name(object, name) else {
                throw BPFError("find map \(name) in the object", errno: ENOENT)
            }
            return m
        }
        var reused = false
        var replaced: [String] = []
        let layout = FlowTableLayout(capacity: options.flowCapacity)
        flowLayout = layout
        do {
            try BPFError.check(bpf_map__set_max_entries(try map("sy_flows"), UInt32(layout.setCount)), "size sy_flows")
            if let dir = options.pinDirectory {
                for name in Self.layout.keys {
                    let path = "\(dir)/\(name)"
                    if access(path, F_OK) == 0 {
                        if let mismatch = Self.pinMismatch(path: path, map: try map(name)) {
                            unlink(path)
                            replaced.append("\(name): \(mismatch)")
                        } else {
                            reused = true
                        }
                    }
                    try BPFError.check(bpf_map__set_pin_path(try map(name), path), "pin path for \(name)")
                }
            }
            try BPFError.check(
                bpf_object__load(object),
                "load the LB program (verifier or map mismatch; run with SWITCHYARD_LIBBPF_DEBUG=1)")
        } catch {
            bpf_object__close(object)
            throw error
        }
        reusedPinnedMaps = reused
        replacedPins = replaced

        func handle(_ name: String) throws -> BPFMap {
            let m = try map(name)
            let key = Int(bpf_map__key_size(m))
            let value = Int(bpf_map__value_size(m))
            let type = bpf_map__type(m)
            if let expected = Self.layout[name], (expected.key, expected.value) != (key, value) {
                throw BPFError(
                    "map \(name) has key/value \(key)/\(value) bytes, the ABI header says "
                        + "\(expected.key)/\(expected.value)",
                    errno: EINVAL)
            }
            return BPFMap(
                fd: bpf_map__fd(m), name: name, keySize: key, valueSize: value,
                perCPU: type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH)
        }
        func program(_ name: String) throws -> Int32 {
            guard let p = bpf_object__find_program_by_name(object, name) else {
                throw BPFError("find program \(name)", errno: ENOENT)
            }
            return bpf_program__fd(p)
        }
        do {
            vips = try handle("sy_vips")
            vipFilter = try handle("sy_vip_filter")
            services = try handle("sy_services")
            serviceIndex = try handle("sy_service_index")
            serviceGeneration = try handle("sy_service_generation")
            sourceRanges = try handle("sy_source_ranges")
            rings = try handle("sy_rings")
            backends = try handle("sy_backends")
            flows = try handle("sy_flows")
            flowOverflow = try handle("sy_flow_overflow")
            node = try handle("sy_node")
            serviceStats = try handle("sy_service_stats")
            backendStats = try handle("sy_backend_stats")
            drops = try handle("sy_drops")
            events = try handle("sy_events")
            insertBudget = try handle("sy_insert_budget")
            flowEvents = try handle("sy_flow_events")
            clock = try handle("sy_clock")
            nexthops = try handle("sy_nexthops")
            fibGeneration = try handle("sy_fib_generation")
            programFD = try program("switchyard_lb")
            passProgramFD = try program("switchyard_pass")
            clockProgramFD = try program("switchyard_clock")
            coldReadProgramFD = try program("switchyard_cold_read")
            coldReadPairProgramFD = try? program("switchyard_cold_read_pair")
            forwardFloorProgramFD = try? program("switchyard_forward_floor")
        } catch {
            bpf_object__close(object)
            throw error
        }
    }

    deinit {
        if let memory = flowMapping.withLock({ $0 }) { munmap(memory.pointer, memory.length) }
        bpf_object__close(object)
    }

    /// The flow table's memory, mapped once for the datapath's lifetime: mapping it per call
    /// costs an mmap and an munmap of the whole table (at 1M flows most of an install's time —
    /// a store's small announcement batches then install a few hundred flows a second).
    private let flowMapping = Mutex<FlowMemory?>(nil)

    struct FlowMemory: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        let length: Int
    }

    /// The flow table's sets as one shared, writable mapping (`MAP_SHARED`: what the datapath
    /// reads and writes), and its length; valid while this datapath lives.
    public func flowMemory() throws -> (UnsafeMutableRawPointer, Int) {
        try flowMapping.withLock { mapping in
            if let mapping { return (mapping.pointer, mapping.length) }
            let length = flowLayout.setCount * MemoryLayout<sy_flow_set>.stride
            guard let memory = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, flows.fd, 0), memory != MAP_FAILED
            else {
                throw BPFError("mmap the flow table", errno: errno)
            }
            mapping = FlowMemory(pointer: memory, length: length)
            return (memory, length)
        }
    }

    /// Whether the overflow (`sy_flow_overflow`) may hold entries. Only user space writes it,
    /// through `FlowTable` on this datapath, so one look at the map is enough: every write marks
    /// it again. Asking the kernel each time cost an install batch a get-next-key that walks all
    /// 65,536 buckets of the empty hash (the agent's largest cost in a flow-sync profile).
    private let overflowState = Mutex<Bool?>(nil)

    public func overflowMayHoldEntries() throws -> Bool {
        try overflowState.withLock { state in
            if let state { return state }
            let inUse = try !flowOverflow.isEmpty
            state = inUse
            return inUse
        }
    }

    /// Called by `FlowTable` after it writes to the overflow (true) or empties it (false).
    func noteOverflow(holdsEntries: Bool) { overflowState.withLock { $0 = holdsEntries } }

    /// The datapath's clocks now (flow-table times are jiffies).
    public func readClock() throws -> sy_clock {
        _ = try TestRun.run(program: clockProgramFD, frame: [UInt8](repeating: 0, count: 64))
        return try clock.lookup(UInt32(0), as: sy_clock.self) ?? sy_clock()
    }

    /// Removes the pins (the maps live on while a program or process holds them).
    /// What differs between a pinned map and the object's definition of it (nil: usable as is): what libbpf
    /// compares before re-using a pin (type, sizes, entries, flags). It refuses to load over a pin that does
    /// not match, so an upgrade that grew a map would leave the agent unable to start.
    static func pinMismatch(path: String, map: OpaquePointer) -> String? {
        let fd = bpf_obj_get(path)
        guard fd >= 0 else { return "cannot open the pin (errno \(errno))" }
        defer { close(fd) }
        var info = bpf_map_info()
        var length = UInt32(MemoryLayout<bpf_map_info>.size)
        guard bpf_obj_get_info_by_fd(fd, &info, &length) == 0 else { return "no map info (errno \(errno))" }
        let want = (
            type: UInt32(bpf_map__type(map).rawValue), key: bpf_map__key_size(map), value: bpf_map__value_size(map),
            entries: bpf_map__max_entries(map), flags: bpf_map__map_flags(map)
        )
        var differences: [String] = []
        if info.type != want.type { differences.append("type \(info.type) → \(want.type)") }
        if info.key_size != want.key { differences.append("key \(info.key_size) → \(want.key) bytes") }
        if info.value_size != want.value { differences.append("value \(info.value_size) → \(want.value) bytes") }
        if info.max_entries != want.entries { differences.append("entries \(info.max_entries) → \(want.entries)") }
        if info.map_flags != want.flags { differences.append("flags \(info.map_flags) → \(want.flags)") }
        return differences.isEmpty ? nil : differences.joined(separator: ", ")
    }

    public static func unpin(directory: String) {
        for name in layout.keys { unlink("\(directory)/\(name)") }
    }
}
