import CLibbpf
import Glibc

/// libbpf's own messages: warnings (verifier logs, map mismatches) to stderr; everything with
/// SWITCHYARD_LIBBPF_DEBUG=1.
enum LibbpfLog {
    static let installed: Bool = {
        let verbose = getenv("SWITCHYARD_LIBBPF_DEBUG") != nil
        if verbose {
            libbpf_set_print { _, format, args in args.map { vdprintf(2, format, $0) } ?? 0 }
        } else {
            libbpf_set_print { level, format, args in
                level == LIBBPF_WARN ? args.map { vdprintf(2, format, $0) } ?? 0 : 0
            }
        }
        return true
    }()
}

/// Opens a BPF ELF object held in memory (embedded in the binary, or read from a file) with
/// libbpf's messages routed; the caller loads it and closes it.
func openBPFObject(_ bytes: [UInt8], _ what: String) throws -> OpaquePointer {
    _ = LibbpfLog.installed
    var opts = bpf_object_open_opts()
    opts.sz = LibbpfOpts.objectOpen
    guard let object = bytes.withUnsafeBytes({ bpf_object__open_mem($0.baseAddress, $0.count, &opts) }) else {
        throw BPFError("open the \(what) object", errno: Glibc.errno)
    }
    return object
}
