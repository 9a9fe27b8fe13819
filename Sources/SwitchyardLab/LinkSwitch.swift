import Glibc
import SwitchyardDatapath

/// Takes an interface down or up from this process (SIOCSIFFLAGS inside the namespace), so the
/// moment a bench starts its clock is the moment the link changes — not somewhere inside the
/// tens of milliseconds an `ip link set` process takes to start and finish.
enum LinkSwitch {
    static func set(up: Bool, interface: String, namespace: String) throws {
        try NetworkNamespace(existingName: namespace).inside {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw failure("open a socket", interface, namespace) }
            defer { close(fd) }
            var request = ifreq()
            let name = Array(interface.utf8.prefix(Int(IFNAMSIZ) - 1))
            withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { raw in
                raw.copyBytes(from: name + [0])
            }
            guard ioctl(fd, UInt(SIOCGIFFLAGS), &request) == 0 else {
                throw failure("read the flags of", interface, namespace)
            }
            let upFlag = Int16(IFF_UP)
            let flags = request.ifr_ifru.ifru_flags
            request.ifr_ifru.ifru_flags = up ? flags | upFlag : flags & ~upFlag
            guard ioctl(fd, UInt(SIOCSIFFLAGS), &request) == 0 else {
                throw failure("set the flags of", interface, namespace)
            }
        }
    }

    private static func failure(
        _ what: String, _ interface: String, _ namespace: String
    ) -> NetworkNamespace.CommandError {
        NetworkNamespace.CommandError(description: "cannot \(what) \(interface) in \(namespace): errno \(errno)")
    }
}
