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
            libbpf_set_print { level, format, args in level == LIBBPF_WARN ? args.map { vdprintf(2, format, $0) } ?? 0 : 0 }
        }
        return true
    }()
}
