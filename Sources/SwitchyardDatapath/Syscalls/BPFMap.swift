import CLibbpf
import Glibc

/// A BPF map by file descriptor, with its sizes: the one choke point through which Swift reads
/// and writes datapath maps. "No such key" is `nil`/`false`, never an error.
public struct BPFMap: Sendable, CustomStringConvertible {
    public let fd: Int32
    public let name: String
    public let keySize: Int
    public let valueSize: Int
    public let perCPU: Bool

    public static let possibleCPUs = Int(libbpf_num_possible_cpus())

    public init(fd: Int32, name: String, keySize: Int, valueSize: Int, perCPU: Bool) {
        self.fd = fd
        self.name = name
        self.keySize = keySize
        self.valueSize = valueSize
        self.perCPU = perCPU
    }

    public var description: String { "map \(name) (fd \(fd))" }

    /// Bytes a lookup returns: per-CPU maps give one 8-byte-aligned slot per possible CPU.
    var valueBufferSize: Int { perCPU ? ((valueSize + 7) & ~7) * Self.possibleCPUs : valueSize }

    private func checkSizes<K, V>(_: K.Type, _: V.Type) {
        precondition(MemoryLayout<K>.size == keySize, "\(name): key is \(keySize) bytes, not \(MemoryLayout<K>.size)")
        precondition(
            MemoryLayout<V>.size == valueSize, "\(name): value is \(valueSize) bytes, not \(MemoryLayout<V>.size)")
    }

    public func lookup<K: BitwiseCopyable, V: BitwiseCopyable>(_ key: K, as: V.Type = V.self) throws -> V? {
        checkSizes(K.self, V.self)
        precondition(!perCPU, "\(name) is per-CPU: use lookupPerCPU")
        var key = key
        let value = UnsafeMutableRawPointer.allocate(byteCount: valueSize, alignment: 8)
        defer { value.deallocate() }
        let rc = bpf_map_lookup_elem(fd, &key, value)
        if rc != 0 {
            if Glibc.errno == ENOENT { return nil }
            throw BPFError("lookup in \(name)", errno: Glibc.errno)
        }
        return value.load(as: V.self)
    }

    /// One value per possible CPU.
    public func lookupPerCPU<K: BitwiseCopyable, V: BitwiseCopyable>(_ key: K, as: V.Type = V.self) throws -> [V]? {
        checkSizes(K.self, V.self)
        precondition(perCPU, "\(name) is not per-CPU")
        var key = key
        let stride = (valueSize + 7) & ~7
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: valueBufferSize, alignment: 8)
        defer { buffer.deallocate() }
        if bpf_map_lookup_elem(fd, &key, buffer) != 0 {
            if Glibc.errno == ENOENT { return nil }
            throw BPFError("lookup in \(name)", errno: Glibc.errno)
        }
        return (0..<Self.possibleCPUs).map { buffer.load(fromByteOffset: $0 * stride, as: V.self) }
    }

    /// Keys `0..<count` of a per-CPU array in one syscall (BPF_MAP_LOOKUP_BATCH): the value of key
    /// `i` on CPU `c` is `result[i][c]`. For reading many counters at once.
    public func lookupPerCPUArray<V: BitwiseCopyable>(count: Int, as: V.Type = V.self) throws -> [[V]] {
        checkSizes(UInt32.self, V.self)
        precondition(perCPU, "\(name) is not per-CPU")
        guard count > 0 else { return [] }
        let stride = (valueSize + 7) & ~7
        let cpus = Self.possibleCPUs
        var keys = [UInt32](repeating: 0, count: count)
        let values = UnsafeMutableRawPointer.allocate(byteCount: count * stride * cpus, alignment: 8)
        defer { values.deallocate() }
        var returned = UInt32(count)
        var next: UInt32 = 0
        var opts = bpf_map_batch_opts()
        opts.sz = LibbpfOpts.mapBatch
        let rc = keys.withUnsafeMutableBytes {
            bpf_map_lookup_batch(fd, nil, &next, $0.baseAddress, values, &returned, &opts)
        }
        // ENOENT: the map ended before `count` keys; `returned` says how many came.
        if rc != 0, Glibc.errno != ENOENT { throw BPFError("batch lookup in \(name)", errno: Glibc.errno) }
        var result = [[V]](repeating: [], count: count)
        for i in 0..<Int(returned) where Int(keys[i]) < count {
            result[Int(keys[i])] = (0..<cpus).map {
                values.load(fromByteOffset: (i * cpus + $0) * stride, as: V.self)
            }
        }
        return result
    }

    public func update<K: BitwiseCopyable, V: BitwiseCopyable>(_ key: K, _ value: V, flags: UInt64 = UInt64(BPF_ANY))
        throws
    {
        checkSizes(K.self, V.self)
        var key = key
        if perCPU {
            let stride = (valueSize + 7) & ~7
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: valueBufferSize, alignment: 8)
            defer { buffer.deallocate() }
            buffer.initializeMemory(as: UInt8.self, repeating: 0, count: valueBufferSize)
            for cpu in 0..<Self.possibleCPUs { buffer.storeBytes(of: value, toByteOffset: cpu * stride, as: V.self) }
            try BPFError.check(bpf_map_update_elem(fd, &key, buffer, flags), "update \(name)")
        } else {
            var value = value
            try BPFError.check(bpf_map_update_elem(fd, &key, &value, flags), "update \(name)")
        }
    }

    /// Raw-byte update for keys/values whose Swift types are not the C structs.
    public func update(keyBytes: [UInt8], valueBytes: [UInt8], flags: UInt64 = UInt64(BPF_ANY)) throws {
        precondition(keyBytes.count == keySize && valueBytes.count == valueSize, "\(name): wrong sizes")
        _ = try keyBytes.withUnsafeBytes { k in
            try valueBytes.withUnsafeBytes { v in
                try BPFError.check(bpf_map_update_elem(fd, k.baseAddress, v.baseAddress, flags), "update \(name)")
            }
        }
    }

    /// False when the key was not there.
    @discardableResult
    public func delete<K: BitwiseCopyable>(_ key: K) throws -> Bool {
        precondition(MemoryLayout<K>.size == keySize, "\(name): key size")
        var key = key
        if bpf_map_delete_elem(fd, &key) != 0 {
            if Glibc.errno == ENOENT { return false }
            throw BPFError("delete from \(name)", errno: Glibc.errno)
        }
        return true
    }

    /// Every key, by iteration (a snapshot: concurrent changes may or may not show).
    /// True when the map holds no key: one `get_next_key`, not a walk of every key.
    public var isEmpty: Bool {
        get throws {
            let next = UnsafeMutableRawPointer.allocate(byteCount: keySize, alignment: 8)
            defer { next.deallocate() }
            guard bpf_map_get_next_key(fd, nil, next) != 0 else { return false }
            if Glibc.errno == ENOENT { return true }
            throw BPFError("look into \(name)", errno: Glibc.errno)
        }
    }

    public func keys<K: BitwiseCopyable>(as: K.Type) throws -> [K] {
        precondition(MemoryLayout<K>.size == keySize, "\(name): key size")
        var result: [K] = []
        let current = UnsafeMutableRawPointer.allocate(byteCount: keySize, alignment: 8)
        let next = UnsafeMutableRawPointer.allocate(byteCount: keySize, alignment: 8)
        defer {
            current.deallocate()
            next.deallocate()
        }
        var previous: UnsafeMutableRawPointer? = nil
        while true {
            if bpf_map_get_next_key(fd, previous, next) != 0 {
                if Glibc.errno == ENOENT { return result }
                throw BPFError("iterate \(name)", errno: Glibc.errno)
            }
            result.append(next.load(as: K.self))
            current.copyMemory(from: next, byteCount: keySize)
            previous = current
        }
    }

    /// The kernel's id for this map: equal ids mean the very same map.
    public func id() throws -> UInt32 {
        var info = bpf_map_info()
        var length = UInt32(MemoryLayout<bpf_map_info>.size)
        try BPFError.check(bpf_obj_get_info_by_fd(fd, &info, &length), "info of \(name)")
        return info.id
    }
}
