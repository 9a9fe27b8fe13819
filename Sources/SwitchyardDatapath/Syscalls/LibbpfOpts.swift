import CLibbpf

/// libbpf's option structs carry their own size (`sz`), and libbpf refuses any whose bytes past
/// the last field it knows are not zero. Swift does not keep padding bytes zero when it copies a
/// struct, so `sz` must end at the last field (libbpf's `<type>__last_field`), never at
/// `MemoryLayout.size`.
enum LibbpfOpts {
    static func size<T>(_ type: T.Type, lastField: PartialKeyPath<T>, lastFieldSize: Int) -> Int {
        MemoryLayout<T>.offset(of: lastField)! + lastFieldSize
    }

    static var objectOpen: Int { size(bpf_object_open_opts.self, lastField: \.kernel_log_level, lastFieldSize: 4) }
    static var testRun: Int { size(bpf_test_run_opts.self, lastField: \.batch_size, lastFieldSize: 4) }
    static var mapCreate: Int { size(bpf_map_create_opts.self, lastField: \.map_ifindex, lastFieldSize: 4) }
    static var xdpQuery: Int { size(bpf_xdp_query_opts.self, lastField: \.attach_mode, lastFieldSize: 1) }
    static var tcHook: Int { size(bpf_tc_hook.self, lastField: \.parent, lastFieldSize: 4) }
    static var mapBatch: Int { size(bpf_map_batch_opts.self, lastField: \.flags, lastFieldSize: 8) }
    static var tcOpts: Int { size(bpf_tc_opts.self, lastField: \.priority, lastFieldSize: 4) }
}
