import CLibbpf
import Glibc

/// Attaching programs to interfaces of the calling thread's network namespace.
public enum XDPAttachment {
    public enum Mode: String, Sendable {
        /// In the driver (veth, most NICs): XDP_TX works at full speed.
        case native
        /// Generic (skb) XDP: any interface, slower.
        case generic
    }

    public static func ifindex(_ name: String) throws -> Int32 {
        let index = if_nametoindex(name)
        guard index != 0 else { throw BPFError("interface \(name)", errno: ENODEV) }
        return Int32(index)
    }

    /// Attaches (atomically replacing any program already there): native if the driver supports
    /// it, else generic unless `requireNative`.
    @discardableResult
    public static func attach(program fd: Int32, interface: String, requireNative: Bool = false) throws -> Mode {
        let index = try ifindex(interface)
        let native = bpf_xdp_attach(index, fd, UInt32(XDP_FLAGS_DRV_MODE), nil)
        if native == 0 { return .native }
        if requireNative { throw BPFError("attach XDP (native) to \(interface)", errno: native) }
        try BPFError.check(
            bpf_xdp_attach(index, fd, UInt32(XDP_FLAGS_SKB_MODE), nil), "attach XDP (generic) to \(interface)")
        return .generic
    }

    /// The attached program's id and mode, or nil.
    public static func query(interface: String) throws -> (id: UInt32, mode: Mode)? {
        let index = try ifindex(interface)
        var opts = bpf_xdp_query_opts()
        opts.sz = LibbpfOpts.xdpQuery
        try BPFError.check(bpf_xdp_query(index, 0, &opts), "query XDP on \(interface)")
        if opts.drv_prog_id != 0 { return (opts.drv_prog_id, .native) }
        if opts.skb_prog_id != 0 { return (opts.skb_prog_id, .generic) }
        return nil
    }

    public static func detach(interface: String) throws {
        let index = try ifindex(interface)
        for flags in [XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE] {
            _ = bpf_xdp_detach(index, UInt32(flags), nil)
        }
    }
}

/// tc ingress (clsact) attachment, for the backend's decap program.
public enum TCAttachment {
    static let handle: UInt32 = 0x5359 // "SY"
    static let priority: UInt32 = 1

    private static func hook(_ index: Int32) -> bpf_tc_hook {
        var hook = bpf_tc_hook()
        hook.sz = LibbpfOpts.tcHook
        hook.ifindex = index
        hook.attach_point = BPF_TC_INGRESS
        return hook
    }

    public static func attachIngress(program fd: Int32, interface: String) throws {
        let index = try XDPAttachment.ifindex(interface)
        var hook = hook(index)
        let created = bpf_tc_hook_create(&hook)
        guard created == 0 || created == -EEXIST else {
            throw BPFError("create clsact on \(interface)", errno: created)
        }
        var opts = bpf_tc_opts()
        opts.sz = LibbpfOpts.tcOpts
        opts.prog_fd = fd
        opts.handle = handle
        opts.priority = priority
        opts.flags = UInt32(BPF_TC_F_REPLACE.rawValue)
        try BPFError.check(bpf_tc_attach(&hook, &opts), "attach tc ingress on \(interface)")
    }

    /// The attached program's id, or nil.
    public static func query(interface: String) throws -> UInt32? {
        let index = try XDPAttachment.ifindex(interface)
        var hook = hook(index)
        var opts = bpf_tc_opts()
        opts.sz = LibbpfOpts.tcOpts
        opts.handle = handle
        opts.priority = priority
        let rc = bpf_tc_query(&hook, &opts)
        if rc == -ENOENT || rc == -EINVAL { return nil }
        try BPFError.check(rc, "query tc on \(interface)")
        return opts.prog_id
    }

    public static func detachIngress(interface: String) throws {
        let index = try XDPAttachment.ifindex(interface)
        var hook = hook(index)
        hook.attach_point = bpf_tc_attach_point(rawValue: BPF_TC_INGRESS.rawValue | BPF_TC_EGRESS.rawValue)
        _ = bpf_tc_hook_destroy(&hook) // removes clsact and everything on it
    }
}
