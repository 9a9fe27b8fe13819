import CLibbpf
import Foundation
import Glibc
import SwitchyardABI

/// The backend-side programs — decap on tc ingress, and for pods the reply port mapping on tc
/// egress — with their config, counters and port-mapping maps (one object, shared maps).
///
/// With a pin directory (a bpffs directory) the maps and both programs are pinned there, and a
/// later load re-uses them: the maps keep their contents, and a program identical to the pinned
/// one (same kernel tag: same instructions) is not replaced, so a restarted endpoint agent finds
/// the very programs its pods run and needs to touch nothing. A different program (an upgrade)
/// replaces the pin; maps whose layout changed are re-created. Not thread-safe: one owner.
public final class DecapDatapath: @unchecked Sendable {
    public let programFD: Int32
    /// `switchyard_pod_egress`, for tc egress of a pod's interface.
    public let egressProgramFD: Int32
    public let config: BPFMap
    public let stats: BPFMap
    /// Inner destination (vip, servicePort, proto) → targetPort; reply source → servicePort.
    public let portsIn: BPFMap
    public let portsOut: BPFMap
    /// True when both programs were found pinned and re-used (not replaced).
    public let reusedPinnedPrograms: Bool

    private let object: OpaquePointer
    /// Descriptors of pinned programs opened with bpf_obj_get (the object owns the others).
    private let openedFDs: [Int32]

    static let programNames = ["switchyard_decap", "switchyard_pod_egress"]
    /// Expected key/value sizes per map, from the ABI header: checked before anything is written.
    static let layout: [String: (key: Int, value: Int)] = [
        "sy_decap_config": (4, MemoryLayout<sy_decap_config>.size),
        "sy_decap_stats": (4, 8),
        "sy_port_in": (MemoryLayout<sy_port_key>.size, MemoryLayout<sy_port_value>.size),
        "sy_port_out": (MemoryLayout<sy_port_key>.size, MemoryLayout<sy_port_value>.size),
    ]

    /// Private maps and programs, gone with this object unless attached somewhere.
    public convenience init() throws { try self.init(pins: nil) }

    /// Pins under `pinDirectory` (created if missing; it must be on bpffs), re-using what is there.
    public convenience init(pinDirectory: String) throws { try self.init(pins: pinDirectory) }

    private init(pins directory: String?) throws {
        if let directory {
            guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
                throw BPFError("create pin directory \(directory) (is it on a bpffs mount?)", errno: errno)
            }
        }
        let object = try Self.load(pins: directory)
        self.object = object
        var opened: [Int32] = []
        do {
            func map(_ name: String) throws -> BPFMap {
                guard let m = bpf_object__find_map_by_name(object, name) else {
                    throw BPFError("find map \(name) in the decap object", errno: ENOENT)
                }
                let key = Int(bpf_map__key_size(m))
                let value = Int(bpf_map__value_size(m))
                if let expected = Self.layout[name], (expected.key, expected.value) != (key, value) {
                    throw BPFError(
                        "map \(name) has key/value \(key)/\(value) bytes, the ABI header says "
                            + "\(expected.key)/\(expected.value)", errno: EINVAL)
                }
                return BPFMap(
                    fd: bpf_map__fd(m), name: name, keySize: key, valueSize: value,
                    perCPU: bpf_map__type(m) == BPF_MAP_TYPE_PERCPU_ARRAY)
            }
            config = try map("sy_decap_config")
            stats = try map("sy_decap_stats")
            portsIn = try map("sy_port_in")
            portsOut = try map("sy_port_out")
            var fds: [Int32] = []
            var reused = true
            for name in Self.programNames {
                guard let program = bpf_object__find_program_by_name(object, name) else {
                    throw BPFError("find program \(name) in the decap object", errno: ENOENT)
                }
                let fresh = bpf_program__fd(program)
                guard let directory else {
                    fds.append(fresh)
                    reused = false
                    continue
                }
                let (fd, wasPinned) = try Self.pinnedOrPin(program, fresh: fresh, at: "\(directory)/\(name)")
                if wasPinned { opened.append(fd) } else { reused = false }
                fds.append(fd)
            }
            programFD = fds[0]
            egressProgramFD = fds[1]
            reusedPinnedPrograms = reused
        } catch {
            for fd in opened { close(fd) }
            bpf_object__close(object)
            throw error
        }
        openedFDs = opened
    }

    deinit {
        for fd in openedFDs { close(fd) }
        bpf_object__close(object)
    }

    private static func load(pins directory: String?) throws -> OpaquePointer {
        let object = try openBPFObject(EmbeddedObject.decap.bytes, "decap")
        do {
            if let directory {
                for name in layout.keys {
                    guard let m = bpf_object__find_map_by_name(object, name) else {
                        throw BPFError("find map \(name) in the decap object", errno: ENOENT)
                    }
                    let path = "\(directory)/\(name)"
                    if !pinnedMap(at: path, matches: m) { unlink(path) }
                    try BPFError.check(bpf_map__set_pin_path(m, path), "pin path for \(name)")
                }
            }
            try BPFError.check(
                bpf_object__load(object), "load the decap programs (run with SWITCHYARD_LIBBPF_DEBUG=1 for why)")
        } catch {
            bpf_object__close(object)
            throw error
        }
        return object
    }

    /// False when a map is pinned at `path` whose shape differs from the object's (pinned by an
    /// older binary): libbpf would refuse to re-use it, so it is replaced by a fresh one. The pods'
    /// programs keep the old map until the new programs replace them.
    private static func pinnedMap(at path: String, matches map: OpaquePointer) -> Bool {
        let fd = bpf_obj_get(path)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        var info = bpf_map_info()
        var length = UInt32(MemoryLayout<bpf_map_info>.size)
        guard bpf_obj_get_info_by_fd(fd, &info, &length) == 0 else { return false }
        return info.type == bpf_map__type(map).rawValue && info.key_size == bpf_map__key_size(map)
            && info.value_size == bpf_map__value_size(map) && info.max_entries == bpf_map__max_entries(map)
            && info.map_flags == bpf_map__map_flags(map)
    }

    /// The pinned program at `path` when it has the fresh one's tag (then the caller owns the
    /// returned descriptor), else the fresh program, pinned there in place of what was.
    private static func pinnedOrPin(_ program: OpaquePointer, fresh: Int32, at path: String) throws -> (Int32, Bool) {
        let pinned = bpf_obj_get(path)
        if pinned >= 0 {
            if let old = try? tag(pinned), let new = try? tag(fresh), old == new { return (pinned, true) }
            close(pinned)
            unlink(path)
        }
        try BPFError.check(bpf_program__pin(program, path), "pin \(path)")
        return (fresh, false)
    }

    /// The kernel's hash of a program's instructions (map references zeroed).
    private static func tag(_ fd: Int32) throws -> [UInt8] {
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        try BPFError.check(bpf_obj_get_info_by_fd(fd, &info, &length), "info of program fd \(fd)")
        return withUnsafeBytes(of: info.tag) { Array($0) }
    }

    /// The kernel's id of a program descriptor: what tc reports for an attached filter.
    public static func programID(_ fd: Int32) throws -> UInt32 {
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        try BPFError.check(bpf_obj_get_info_by_fd(fd, &info, &length), "info of program fd \(fd)")
        return info.id
    }

    /// Removes the pins (programs stay while attached, maps while a program or process holds them).
    public static func unpin(directory: String, removeDirectory: Bool = true) {
        for name in programNames + layout.keys.sorted() { unlink("\(directory)/\(name)") }
        if removeDirectory { rmdir(directory) }
    }

    /// The UDP port GUE arrives on (0: GUE not accepted).
    public func setGUEPort(_ port: UInt16) throws {
        let value = sy_decap_config(gue_port: port.bigEndian, pad: 0, pad2: 0)
        if let current = try config.lookup(UInt32(0), as: sy_decap_config.self), current.gue_port == value.gue_port {
            return
        }
        try config.update(UInt32(0), value)
    }

    /// Replaces the whole set of port mappings: entries are written before stale ones are
    /// deleted, and an unchanged entry is not written, so applying the same set again changes
    /// nothing. Throws (changing nothing) when two mappings conflict or there are too many.
    /// - Returns: whether anything changed.
    @discardableResult
    public func setPortMappings(_ mappings: [DecapPortMapping]) throws -> Bool {
        let tables = try DecapPortMapping.tables(mappings)
        guard tables.ingress.count <= Int(SY_PORT_MAPPINGS_MAX) else {
            throw BPFError(
                "\(tables.ingress.count) port mappings, at most \(SY_PORT_MAPPINGS_MAX) per pod (SY_PORT_MAPPINGS_MAX)",
                errno: E2BIG)
        }
        let a = try sync(portsIn, to: tables.ingress)
        let b = try sync(portsOut, to: tables.egress)
        return a || b
    }

    /// The mappings in the maps now (identity mappings take no entry and are not listed).
    public func portMappings() throws -> [DecapPortMapping] {
        try portsIn.keys(as: sy_port_key.self).compactMap { key -> DecapPortMapping? in
            guard let end = DecapPortMapping.PortEnd(key), let to = try portsIn.lookup(key, as: sy_port_value.self)
            else { return nil }
            return DecapPortMapping(
                vip: end.address, proto: end.proto, servicePort: end.port, targetPort: UInt16(bigEndian: to.port))
        }
    }

    private func sync(_ map: BPFMap, to table: [DecapPortMapping.PortEnd: UInt16]) throws -> Bool {
        var changed = false
        for (end, port) in table {
            let value = sy_port_value(port: port.bigEndian, pad: 0)
            if let current = try map.lookup(end.abi, as: sy_port_value.self), current.port == value.port { continue }
            try map.update(end.abi, value)
            changed = true
        }
        for key in try map.keys(as: sy_port_key.self) {
            if let end = DecapPortMapping.PortEnd(key), table[end] != nil { continue }
            try map.delete(key)
            changed = true
        }
        return changed
    }

    /// The program's counters, summed over CPUs.
    public struct Counts: Hashable, Sendable {
        /// Outer headers removed, and removals the kernel refused.
        public var decapsulated: UInt64
        public var failed: UInt64
        /// Inner destination ports mapped to the target port; replies' source ports mapped back;
        /// rewrites the kernel refused (those packets were dropped).
        public var portsMapped: UInt64
        public var repliesMapped: UInt64
        public var mapFailed: UInt64
    }

    public func counts() throws -> Counts {
        let all = try stats.lookupPerCPUArray(count: Int(SY_DECAP__COUNT.rawValue), as: UInt64.self)
        func sum(_ which: sy_decap_stat) -> UInt64 {
            let index = Int(which.rawValue)
            return index < all.count ? all[index].reduce(0, +) : 0
        }
        return Counts(
            decapsulated: sum(SY_DECAP_OK), failed: sum(SY_DECAP_FAILED), portsMapped: sum(SY_DECAP_PORT_MAPPED),
            repliesMapped: sum(SY_DECAP_REPLY_MAPPED), mapFailed: sum(SY_DECAP_MAP_FAILED))
    }
}
