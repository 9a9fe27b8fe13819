import CLibbpf
import Foundation
import Glibc

/// bpf/reference.c — the kernel's LRU hash doing a new flow's table step — loaded for the
/// benchmark only, with the map sized like the Switchyard table it is compared with.
final class ReferenceLRU {
    let programFD: Int32
    let mapFD: Int32
    private let object: OpaquePointer

    init(maxEntries: Int) throws {
        let object = try openBPFObject(EmbeddedObject.reference.bytes, "reference")
        guard let map = bpf_object__find_map_by_name(object, "sy_reference_lru"),
            bpf_map__set_max_entries(map, UInt32(clamping: maxEntries)) == 0,
            bpf_object__load(object) == 0,
            let program = bpf_object__find_program_by_name(object, "switchyard_reference_lru")
        else {
            let error = Glibc.errno
            bpf_object__close(object)
            throw BPFError("load the reference object with \(maxEntries) LRU entries", errno: error)
        }
        self.object = object
        mapFD = bpf_map__fd(map)
        programFD = bpf_program__fd(program)
    }

    deinit { bpf_object__close(object) }

    /// Entries present: a walk of the keys.
    func count() throws -> Int {
        var key = [UInt8](repeating: 0, count: 64)
        var next = [UInt8](repeating: 0, count: 64)
        var count = 0
        var rc = bpf_map_get_next_key(mapFD, nil, &next)
        while rc == 0 {
            count += 1
            swap(&key, &next)
            rc = bpf_map_get_next_key(mapFD, key, &next)
        }
        guard Glibc.errno == ENOENT else { throw BPFError("walk the LRU reference's keys", errno: Glibc.errno) }
        return count
    }
}

/// What the kernel charges a map (fdinfo `memlock`, bytes), and its declared sizes.
enum MapMemory {
    static func memlock(fd: Int32) -> Int? {
        guard let file = fopen("/proc/self/fdinfo/\(fd)", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("memlock:") {
                return Int(text.dropFirst("memlock:".count).trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        return nil
    }

    /// value_size × max_entries, from the kernel's map info.
    static func valueBytes(fd: Int32) throws -> Int {
        var info = bpf_map_info()
        var length = UInt32(MemoryLayout<bpf_map_info>.size)
        try BPFError.check(bpf_obj_get_info_by_fd(fd, &info, &length), "read map info")
        return Int(info.value_size) * Int(info.max_entries)
    }
}
