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
