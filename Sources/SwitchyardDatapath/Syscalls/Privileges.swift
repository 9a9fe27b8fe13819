import CLibbpf
import Glibc

/// Whether this process may use BPF: tries what the datapath needs (creating a map), rather
/// than guessing from the uid.
public enum Privileges {
    /// Nil when BPF is usable; otherwise why not, for a skip message.
    public static func bpfUnavailableReason() -> String? {
        let fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sy_probe", 4, 4, 1, nil)
        if fd >= 0 {
            close(fd)
            return nil
        }
        let error = BPFError("bpf_map_create", errno: Glibc.errno)
        return "BPF is not available to this process (\(error)); run as root"
    }
}

/// A BPF filesystem to pin maps in. The agent uses /sys/fs/bpf; tests mount a private instance
/// in a temporary directory so runs cannot collide.
public enum BPFFS {
    static let magic: Int = 0xcafe_4a11

    public static func isMounted(_ path: String) -> Bool {
        var s = statfs()
        return statfs(path, &s) == 0 && Int(s.f_type) == magic
    }

    /// Mounts bpffs at `path` (creating it) unless one is there already.
    public static func ensureMounted(_ path: String) throws {
        if isMounted(path) { return }
        mkdir(path, 0o700)
        try BPFError.check(mount("bpf", path, "bpf", 0, nil), "mount bpffs at \(path)")
    }

    public static func unmount(_ path: String) {
        umount2(path, Int32(MNT_DETACH))
        rmdir(path)
    }
}
