extension DatapathBench {
    /// `--fill N`: N random flows into a Switchyard table of configured capacity N and into the
    /// kernel LRU hash with N entries, each through its own program's insert (BPF_PROG_TEST_RUN,
    /// the same SYNs), then what each holds and what each costs in memory per flow.
    public func fill(_ n: Int) throws -> Fill {
        let pin = try CPUPin(cpu: cpu)
        defer { pin.restore() }
        return try fillTest(n).fill
    }

    /// The fill test, and the filled Switchyard table (a default run measures established flows
    /// in it).
    func fillTest(_ n: Int) throws -> (fill: Fill, table: LBDatapath) {
        let table = try BenchSetup.datapath(capacity: n, object: objectPath)
        let flows = BenchFlows(seed: BenchSetup.Seed.fill)
        try BenchSetup.preload(table, flows, 0..<n)
        let held = try BenchSetup.held(table)

        let lru = try ReferenceLRU(maxEntries: n)
        let syn = try FrameTemplate(BenchSetup.synSpec)
        for i in 0..<n { _ = try BenchCall.run(program: lru.programFD, frame: syn.frame(flows.client(i))) }
        let fill = Fill(
            flows: n, slots: BenchSetup.slots(table), held: held,
            bytes: MapMemory.memlock(fd: table.flows.fd) ?? 0,
            valueBytes: try MapMemory.valueBytes(fd: table.flows.fd),
            lruHeld: try lru.count(), lruBytes: MapMemory.memlock(fd: lru.mapFD) ?? 0)
        return (fill, table)
    }
}
