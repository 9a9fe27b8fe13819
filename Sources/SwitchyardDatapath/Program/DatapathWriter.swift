import CLibbpf
import DatapathModel
import Glibc
import SwitchyardABI
import SwitchyardCore

/// Makes the datapath's maps say what a `DatapathTables` says, touching only what changed.
///
/// Order matters while packets flow: new services are written bottom-up (backends, ring,
/// service, VIP) so a packet that finds the VIP finds a complete service; removals go top-down.
/// A ring is replaced whole — a new inner map, filled through mmap, swapped in with one update —
/// so no packet ever sees half a ring.
public final class DatapathWriter: @unchecked Sendable {
    public let datapath: LBDatapath
    /// The node's flow-table settings (`sy_node`), as the model holds them.
    public var flowPolicy: FlowTableModel.Policy
    /// Flow-table inserts per CPU per second (0 = unlimited).
    public var newFlowRate: UInt32 {
        get { flowPolicy.newFlowRate }
        set { flowPolicy.newFlowRate = newValue }
    }
    /// Jiffies a flow must be idle before a new flow may take its way (0: always the oldest).
    public var evictIdle: UInt32 {
        get { flowPolicy.evictIdle }
        set { flowPolicy.evictIdle = newValue }
    }
    /// Stateful services: jiffies between store refreshes of a used entry (0 = never).
    public var syncRefresh: UInt32 {
        get { flowPolicy.syncRefresh }
        set { flowPolicy.syncRefresh = newValue }
    }
    /// Differential tests only: the datapath reads its flow-table clocks from `sy_clock`
    /// (`setTestClock`) instead of the kernel's, so the model can be given the same time.
    public var testClock = false
    public let flowTable: FlowTable
    private var applied: DatapathTables?

    public init(datapath: LBDatapath, newFlowRate: UInt32 = 0, evictIdle: UInt32 = 0, syncRefresh: UInt32 = 0) {
        self.datapath = datapath
        flowPolicy = FlowTableModel.Policy(evictIdle: evictIdle, newFlowRate: newFlowRate, syncRefresh: syncRefresh)
        flowTable = FlowTable(datapath: datapath)
    }

    /// The time the datapath's flow table sees while `testClock` is on (applied with the node).
    public func setTestClock(_ time: DatapathTime) throws {
        try datapath.clock.update(UInt32(0), sy_clock(jiffies: time.jiffies, ktime_ns: time.coarseNs))
    }

    public struct Changes: Sendable, Equatable {
        public var ringsSwapped = 0
        public var servicesWritten = 0
        public var servicesRemoved = 0
        public var backendsWritten = 0
        /// Prefixes added to and removed from the source-range trie.
        public var sourceRangesWritten = 0
        public var sourceRangesRemoved = 0
        /// Services the index had no free slot for within its probe limit: the program finds
        /// them in the services map instead (slower, same verdicts).
        public var servicesNotIndexed = 0
    }

    @discardableResult
    public func apply(_ desired: DatapathTables) throws -> Changes {
        var changes = Changes()
        let previous = applied
        let d = datapath
        try d.node.update(
            UInt32(0),
            sy_node(
                desired.node, newFlowRate: newFlowRate, flowSetCount: UInt32(d.flowLayout.setCount),
                evictIdle: evictIdle, syncRefresh: syncRefresh, testClock: testClock))

        for (index, backend) in desired.backends.sorted(by: { $0.key < $1.key })
        where previous?.backends[index] != backend {
            try d.backends.update(index, sy_backend(backend))
            changes.backendsWritten += 1
        }
        for (id, ring) in desired.rings.sorted(by: { $0.key < $1.key }) where previous?.rings[id] != ring {
            try swapRing(id: id, slots: ring)
            changes.ringsSwapped += 1
        }
        // A service's prefixes before its flag, so a packet never finds it flagged with half its
        // list; prefixes that go are removed after the services (below).
        let ranges = desired.sourceRangeEntries
        let previousRanges = previous?.sourceRangeEntries
        for entry in ranges where previousRanges?.contains(entry) != true {
            try d.sourceRanges.update(sy_source_range_key(entry), UInt32(0))
            changes.sourceRangesWritten += 1
        }
        for (key, entry) in desired.services.sorted(by: { $0.key < $1.key }) where previous?.services[key] != entry {
            try d.services.update(sy_service_key(key), sy_service(entry))
            changes.servicesWritten += 1
        }
        // The prefilter first lets the new VIPs through (keeping every bit it had), so no packet
        // for a VIP being added is passed by it; it drops the old ones' bits after their removal.
        try writeVIPFilter(desired.vips, keepingCurrent: true)
        for vip in desired.vips.sorted() where previous?.vips.contains(vip) != true {
            try d.vips.update(sy_vip_addr(vip), sy_vip_info(flags: 0))
        }

        // The index the program reads first: the new half goes live before anything is removed,
        // and the old half's readers are waited out.
        if previous == nil || previous?.services != desired.services {
            changes.servicesNotIndexed = try writeServiceIndex(desired.services)
        }

        // Removals, top-down. Without a record of what was written (a fresh process over
        // re-used pinned maps), the maps themselves are read.
        let staleVIPs: [sy_vip_addr]
        let staleServices: [sy_service_key]
        let staleRings: [UInt32]
        let staleBackends: [UInt32]
        let staleRanges: [sy_source_range_key]
        if let previousRanges {
            staleRanges = previousRanges.subtracting(ranges).map(sy_source_range_key.init)
        } else if datapath.reusedPinnedMaps {
            let want = Set(ranges.map { structBytes(sy_source_range_key($0)) })
            staleRanges = try d.sourceRanges.keys(as: sy_source_range_key.self).filter {
                !want.contains(structBytes($0))
            }
        } else {
            staleRanges = []
        }
        if let previous {
            staleVIPs = previous.vips.subtracting(desired.vips).map(sy_vip_addr.init)
            staleServices = previous.services.keys.filter { desired.services[$0] == nil }.map(sy_service_key.init)
            staleRings = previous.rings.keys.filter { desired.rings[$0] == nil }
            staleBackends = previous.backends.keys.filter { desired.backends[$0] == nil }
        } else if datapath.reusedPinnedMaps {
            let wantVIPs = Set(desired.vips.map { structBytes(sy_vip_addr($0)) })
            let wantServices = Set(desired.services.keys.map { structBytes(sy_service_key($0)) })
            staleVIPs = try d.vips.keys(as: sy_vip_addr.self).filter { !wantVIPs.contains(structBytes($0)) }
            staleServices = try d.services.keys(as: sy_service_key.self).filter {
                !wantServices.contains(structBytes($0))
            }
            staleRings = (0..<SY_MAX_SERVICES).filter { desired.rings[$0] == nil }
            staleBackends = try (0..<SY_MAX_BACKENDS).filter { index in
                guard desired.backends[index] == nil, let b = try d.backends.lookup(index, as: sy_backend.self) else {
                    return false
                }
                return b.state != UInt8(SY_BACKEND_UNUSED.rawValue)
            }
        } else {
            (staleVIPs, staleServices, staleRings, staleBackends) = ([], [], [], [])
        }
        for vip in staleVIPs { try d.vips.delete(vip) }
        for key in staleServices {
            try d.services.delete(key)
            changes.servicesRemoved += 1
        }
        for key in staleRanges {
            try d.sourceRanges.delete(key)
            changes.sourceRangesRemoved += 1
        }
        for id in staleRings { try d.rings.delete(id) }
        for index in staleBackends { try d.backends.update(index, sy_backend()) }
        try writeVIPFilter(desired.vips, keepingCurrent: false)
        applied = desired
        return changes
    }

    /// Fills the index half no reader uses with `services` (through the map's mapping), makes it
    /// the live half, then waits until no program can still be reading the old one. Returns the
    /// services that found no slot within SY_SERVICE_INDEX_PROBES.
    private func writeServiceIndex(_ services: [ServiceKey: DatapathTables.ServiceEntry]) throws -> Int {
        let live = try datapath.serviceGeneration.lookup(UInt32(0), as: UInt32.self) ?? 0
        let next = (live & 1) ^ 1
        let slots = Int(SY_SERVICE_INDEX_SLOTS)
        let stride = MemoryLayout<sy_service_slot>.stride
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = (2 * slots * stride + pageSize - 1) / pageSize * pageSize
        guard let memory = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, datapath.serviceIndex.fd, 0),
            memory != MAP_FAILED
        else { throw BPFError("mmap the service index", errno: errno) }
        defer { munmap(memory, length) }
        let half = memory + Int(next) * slots * stride
        half.initializeMemory(as: UInt8.self, repeating: 0, count: slots * stride)
        var unplaced = 0
        for (key, entry) in services.sorted(by: { $0.key < $1.key }) {
            var slot = sy_service_slot()
            slot.key = sy_service_key(key)
            slot.svc = sy_service(entry)
            let first = Int(withUnsafePointer(to: &slot.key) { sy_service_index_slot($0) })
            let free = (0..<Int(SY_SERVICE_INDEX_PROBES)).map { (first + $0) & (slots - 1) }.first {
                half.load(fromByteOffset: $0 * stride, as: sy_service_slot.self).key.family == 0
            }
            guard let free else {
                unplaced += 1
                continue
            }
            half.storeBytes(of: slot, toByteOffset: free * stride, as: sy_service_slot.self)
        }
        try datapath.serviceGeneration.update(UInt32(0), next)
        guard sy_wait_for_running_programs() == 0 else {
            throw BPFError("wait for programs reading the old service index (membarrier)", errno: errno)
        }
        return unplaced
    }

    /// Writes the prefilter with a bit for each of `vips` (and every bit already set, when
    /// `keepingCurrent`). A reader may see the old or new value of each word: a bit both have
    /// set is never seen clear.
    private func writeVIPFilter(_ vips: Set<IPAddress>, keepingCurrent: Bool) throws {
        let current = keepingCurrent ? try datapath.vipFilter.lookup(UInt32(0), as: sy_vip_filter.self) : nil
        var words = [UInt64](repeating: 0, count: Int(SY_VIP_FILTER_WORDS))
        if let current {
            withUnsafeBytes(of: current) { raw in
                for i in words.indices { words[i] = raw.load(fromByteOffset: 8 * i, as: UInt64.self) }
            }
        }
        for vip in vips {
            var key = sy_vip_addr(vip)
            let bit = withUnsafePointer(to: &key.addr) {
                $0.withMemoryRebound(to: UInt32.self, capacity: 4) { sy_vip_filter_bit($0, key.family) }
            }
            words[Int(bit / 64)] |= 1 << UInt64(bit % 64)
        }
        var filter = sy_vip_filter()
        withUnsafeMutableBytes(of: &filter) { raw in
            for (i, word) in words.enumerated() { raw.storeBytes(of: word, toByteOffset: 8 * i, as: UInt64.self) }
        }
        try datapath.vipFilter.update(UInt32(0), filter)
    }

    /// A new inner array of the ring's size, filled by mmap, then one update of the outer map.
    private func swapRing(id: UInt32, slots: [UInt32]) throws {
        var opts = bpf_map_create_opts()
        opts.sz = LibbpfOpts.mapCreate
        opts.map_flags = UInt32(BPF_F_INNER_MAP | BPF_F_MMAPABLE)
        let fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sy_ring", 4, 4, UInt32(slots.count), &opts)
        guard fd >= 0 else { throw BPFError("create ring for service \(id)", errno: Glibc.errno) }
        defer { close(fd) } // the outer map keeps the ring alive
        // Array elements are laid out at round_up(value_size, 8): a u32 ring has an 8-byte stride.
        let stride = 8
        let length = (slots.count * stride + Int(getpagesize()) - 1) & ~(Int(getpagesize()) - 1)
        guard let memory = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), memory != MAP_FAILED else {
            throw BPFError("mmap ring for service \(id)", errno: Glibc.errno)
        }
        for (index, backend) in slots.enumerated() {
            memory.storeBytes(of: backend, toByteOffset: index * stride, as: UInt32.self)
        }
        munmap(memory, length)
        var key = id
        var value = UInt32(bitPattern: fd)
        try BPFError.check(
            bpf_map_update_elem(datapath.rings.fd, &key, &value, UInt64(BPF_ANY)), "swap ring of service \(id)")
    }

    /// Writes flow entries (tests, and stateful mode installing entries from other nodes). Remote
    /// entries respect the flood rule: a set of busy flows is left alone. Returns those skipped.
    /// Remote entries are protected for two refresh periods (their owner refreshes them once per
    /// period), or `evictIdle` when flows are not refreshed.
    @discardableResult
    public func install(flows: [FlowKey: DatapathTables.FlowEntry], remote: Bool = false, now: UInt32? = nil) throws
        -> FlowTable.InstallResult
    {
        try flowTable.install(
            flows, remote: remote, now: now, evictIdle: remote ? evictIdle : 0,
            protect: remote ? 2 * syncRefresh : 0)
    }

    /// This node's own new flows: those the datapath found no way for get one, or the overflow
    /// (`FlowTable.keepOwn`).
    public func keepOwn(flows: [FlowKey: DatapathTables.FlowEntry], now: UInt32? = nil) throws
        -> FlowTable.InstallResult
    {
        try flowTable.keepOwn(flows, now: now, evictIdle: evictIdle)
    }

    public func removeFlows(_ keys: some Sequence<FlowKey>) throws {
        try flowTable.remove(keys)
    }

    public func flow(_ key: FlowKey) throws -> DatapathTables.FlowEntry? {
        try flowTable.lookup(key)
    }
}

/// A C struct's bytes, for comparing keys.
func structBytes<T>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }
