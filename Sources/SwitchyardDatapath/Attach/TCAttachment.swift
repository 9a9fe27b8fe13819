import CLibbpf
import Glibc

/// tc (clsact) attachment in the calling thread's network namespace: the backend's decap program
/// on ingress, and in a pod the reply port mapping on egress. Our filter has a fixed handle and
/// priority, so attaching again replaces it atomically and detaching removes only it.
public enum TCAttachment {
    static let handle: UInt32 = 0x5359 // "SY"
    static let priority: UInt32 = 1

    public enum Direction: Sendable, CustomStringConvertible {
        case ingress, egress

        var attachPoint: bpf_tc_attach_point { self == .ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS }
        public var description: String { self == .ingress ? "ingress" : "egress" }
    }

    private static func hook(_ index: Int32, _ direction: Direction) -> bpf_tc_hook {
        var hook = bpf_tc_hook()
        hook.sz = LibbpfOpts.tcHook
        hook.ifindex = index
        hook.attach_point = direction.attachPoint
        return hook
    }

    private static func ours() -> bpf_tc_opts {
        var opts = bpf_tc_opts()
        opts.sz = LibbpfOpts.tcOpts
        opts.handle = handle
        opts.priority = priority
        return opts
    }

    /// Attaches (creating clsact if needed), atomically replacing our filter if one is there.
    public static func attach(program fd: Int32, interface: String, direction: Direction) throws {
        let index = try XDPAttachment.ifindex(interface)
        var hook = hook(index, direction)
        let created = bpf_tc_hook_create(&hook)
        guard created == 0 || created == -EEXIST else {
            throw BPFError("create clsact on \(interface)", errno: created)
        }
        var opts = ours()
        opts.prog_fd = fd
        opts.flags = UInt32(BPF_TC_F_REPLACE.rawValue)
        try BPFError.check(bpf_tc_attach(&hook, &opts), "attach tc \(direction) on \(interface)")
    }

    /// The id of our program attached in `direction`, or nil.
    public static func query(interface: String, direction: Direction) throws -> UInt32? {
        let index = try XDPAttachment.ifindex(interface)
        var hook = hook(index, direction)
        var opts = ours()
        let rc = bpf_tc_query(&hook, &opts)
        if rc == -ENOENT || rc == -EINVAL { return nil }
        try BPFError.check(rc, "query tc \(direction) on \(interface)")
        return opts.prog_id
    }

    /// Removes our filter only: other tc programs (a CNI's) and clsact itself stay.
    /// - Returns: false when ours was not there.
    @discardableResult
    public static func detach(interface: String, direction: Direction) throws -> Bool {
        let index = try XDPAttachment.ifindex(interface)
        var hook = hook(index, direction)
        var opts = ours()
        let rc = bpf_tc_detach(&hook, &opts)
        if rc == -ENOENT || rc == -EINVAL { return false }
        try BPFError.check(rc, "detach tc \(direction) on \(interface)")
        return true
    }

    public static func attachIngress(program fd: Int32, interface: String) throws {
        try attach(program: fd, interface: interface, direction: .ingress)
    }

    /// The attached ingress program's id, or nil.
    public static func query(interface: String) throws -> UInt32? {
        try query(interface: interface, direction: .ingress)
    }

    /// Removes clsact and everything on it (`switchyard backend --remove`: the host is ours).
    public static func detachIngress(interface: String) throws {
        let index = try XDPAttachment.ifindex(interface)
        var hook = hook(index, .ingress)
        hook.attach_point = bpf_tc_attach_point(rawValue: BPF_TC_INGRESS.rawValue | BPF_TC_EGRESS.rawValue)
        _ = bpf_tc_hook_destroy(&hook)
    }
}
