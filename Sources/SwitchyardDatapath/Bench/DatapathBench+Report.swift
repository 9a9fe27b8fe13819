extension DatapathBench {
    /// p10 / median / p90 of kernel-measured ns per call.
    public struct Percentiles: Sendable, Equatable, Encodable {
        public var p10: Double
        public var p50: Double
        public var p90: Double

        public init(p10: Double, p50: Double, p90: Double) {
            self.p10 = p10
            self.p50 = p50
            self.p90 = p90
        }

        /// Nearest-rank percentiles (zero for no samples).
        init(_ samples: [UInt32]) {
            let s = samples.sorted()
            func at(_ q: Double) -> Double { s.isEmpty ? 0 : Double(s[min(s.count - 1, Int(q * Double(s.count)))]) }
            self.init(p10: at(0.1), p50: at(0.5), p90: at(0.9))
        }

        /// Every percentile less one constant (the floor's median).
        static func - (a: Percentiles, constant: Double) -> Percentiles {
            Percentiles(p10: a.p10 - constant, p50: a.p50 - constant, p90: a.p90 - constant)
        }
    }

    /// One case's figures. `net` is each gross percentile minus the floor's median: the floor (an
    /// empty XDP program, measured by the same schedule in the same run) is a constant harness
    /// cost, and its own spread is noise the gross spread already carries (subtracting percentile
    /// by percentile can make a net p10 exceed the net median).
    public struct Case: Sendable, Encodable {
        /// Stable identifier (JSON consumers key on it); a compared object's cases end in `_b`.
        public var id: String
        public var name: String
        public var mode: Mode
        public var samples: Int
        public var gross: Percentiles
        public var floor: Percentiles
        public var net: Percentiles { gross - floor.p50 }
        /// What the setup found (FIB answer or fallback, table fill, flood outcome).
        public var note: String?
        /// Net median over the kernel LRU reference's (new-flow cases of the large table).
        public var ratioToLRU: Double?

        enum CodingKeys: String, CodingKey {
            case id
            case name = "case"
            case mode, samples, note
            case grossP10 = "ns_gross_p10"
            case grossP50 = "ns_gross_p50"
            case grossP90 = "ns_gross_p90"
            case floorP10 = "ns_floor_p10"
            case floorP50 = "ns_floor_p50"
            case floorP90 = "ns_floor_p90"
            case netP10 = "ns_net_p10"
            case netP50 = "ns_net_p50"
            case netP90 = "ns_net_p90"
            case ratioToLRU = "net_p50_over_kernel_lru"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(name, forKey: .name)
            try c.encode(mode, forKey: .mode)
            try c.encode(samples, forKey: .samples)
            try c.encodeIfPresent(note, forKey: .note)
            try c.encodeIfPresent(ratioToLRU, forKey: .ratioToLRU)
            for (p, keys) in [
                (gross, (CodingKeys.grossP10, CodingKeys.grossP50, CodingKeys.grossP90)),
                (floor, (.floorP10, .floorP50, .floorP90)), (net, (.netP10, .netP50, .netP90)),
            ] {
                try c.encode(p.p10, forKey: keys.0)
                try c.encode(p.p50, forKey: keys.1)
                try c.encode(p.p90, forKey: keys.2)
            }
        }
    }

    /// A fill test: N random flows into a table of configured capacity N, through the program's
    /// own insert rule, for Switchyard's table and for the kernel LRU hash.
    public struct Fill: Sendable, Encodable {
        public var flows: Int
        /// Ways the table really has (`FlowTableLayout(capacity:)`: 1.15 per configured flow).
        public var slots: Int
        public var held: Int
        public var fractionHeld: Double { flows > 0 ? Double(held) / Double(flows) : 0 }
        /// The flow map's memory: memlock from fdinfo (value_size × max_entries as a check).
        public var bytes: Int
        public var valueBytes: Int
        public var bytesPerFlow: Double { flows > 0 ? Double(bytes) / Double(flows) : 0 }
        public var lruHeld: Int
        public var lruFractionHeld: Double { flows > 0 ? Double(lruHeld) / Double(flows) : 0 }
        public var lruBytes: Int
        public var lruBytesPerFlow: Double { flows > 0 ? Double(lruBytes) / Double(flows) : 0 }

        enum CodingKeys: String, CodingKey {
            case flows = "n"
            case slots, held
            case fractionHeld = "fraction_held"
            case bytes = "memlock_bytes"
            case valueBytes = "value_bytes"
            case bytesPerFlow = "bytes_per_flow"
            case lruHeld = "lru_held"
            case lruFractionHeld = "lru_fraction_held"
            case lruBytes = "lru_memlock_bytes"
            case lruBytesPerFlow = "lru_bytes_per_flow"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(flows, forKey: .flows)
            try c.encode(slots, forKey: .slots)
            try c.encode(held, forKey: .held)
            try c.encode(fractionHeld, forKey: .fractionHeld)
            try c.encode(bytes, forKey: .bytes)
            try c.encode(valueBytes, forKey: .valueBytes)
            try c.encode(bytesPerFlow, forKey: .bytesPerFlow)
            try c.encode(lruHeld, forKey: .lruHeld)
            try c.encode(lruFractionHeld, forKey: .lruFractionHeld)
            try c.encode(lruBytes, forKey: .lruBytes)
            try c.encode(lruBytesPerFlow, forKey: .lruBytesPerFlow)
        }
    }

    /// A default run: every case, the fill tests, and how they were measured.
    public struct Report: Sendable, Encodable {
        public var mode: Mode
        public var cpu: Int
        public var samples: Int
        public var block: Int
        public var warmup: Int
        public var largeTable: Int
        public var floor: Percentiles
        public var cases: [Case]
        public var fills: [Fill]

        public func `case`(_ id: String) -> Case? { cases.first { $0.id == id } }

        /// What a new flow costs beyond the one flow-set read it cannot avoid (gross medians).
        public var newFlowBeyondColdRead: Double? {
            guard let newFlow = self.case(CaseID.newFlow), let read = self.case(CaseID.coldRead) else { return nil }
            return newFlow.gross.p50 - read.gross.p50
        }

        enum CodingKeys: String, CodingKey {
            case mode, cpu, samples, block, warmup
            case largeTable = "large_table"
            case cases
            case fills = "fill"
            case floorP10 = "ns_floor_p10"
            case floorP50 = "ns_floor_p50"
            case floorP90 = "ns_floor_p90"
            case beyondColdRead = "new_flow_beyond_cold_read_ns"
            case targets
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(mode, forKey: .mode)
            try c.encode(cpu, forKey: .cpu)
            try c.encode(samples, forKey: .samples)
            try c.encode(block, forKey: .block)
            try c.encode(warmup, forKey: .warmup)
            try c.encode(largeTable, forKey: .largeTable)
            try c.encode(floor.p10, forKey: .floorP10)
            try c.encode(floor.p50, forKey: .floorP50)
            try c.encode(floor.p90, forKey: .floorP90)
            try c.encodeIfPresent(newFlowBeyondColdRead, forKey: .beyondColdRead)
            try c.encode(targets, forKey: .targets)
            try c.encode(cases, forKey: .cases)
            try c.encode(fills, forKey: .fills)
        }
    }

    /// `--both-cpus`: the same cases on one CPU alone, then on two CPUs at once.
    public struct BothCPUs: Sendable, Encodable {
        public struct Entry: Sendable, Encodable {
            public var id: String
            public var name: String
            /// The case on the first CPU while the other is idle.
            public var alone: Case
            /// The case on each CPU while both run it.
            public var together: [Case]
            /// Program-only packets per second (1e9 / net median), in millions.
            public var aloneMpps: Double { Self.mpps(alone) }
            public var togetherMpps: Double { together.map(Self.mpps).reduce(0, +) }
            /// Combined rate of both CPUs over one CPU's (2.0 = perfect scaling).
            public var scaling: Double { aloneMpps > 0 ? togetherMpps / aloneMpps : 0 }

            static func mpps(_ c: Case) -> Double { c.net.p50 > 0 ? 1e3 / c.net.p50 : 0 }

            enum CodingKeys: String, CodingKey {
                case id
                case name = "case"
                case alone
                case together = "per_cpu"
                case aloneMpps = "alone_mpps"
                case togetherMpps = "combined_mpps"
                case scaling
            }

            public func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(id, forKey: .id)
                try c.encode(name, forKey: .name)
                try c.encode(alone, forKey: .alone)
                try c.encode(together, forKey: .together)
                try c.encode(aloneMpps, forKey: .aloneMpps)
                try c.encode(togetherMpps, forKey: .togetherMpps)
                try c.encode(scaling, forKey: .scaling)
            }
        }

        public var cpus: [Int]
        public var samples: Int
        public var block: Int
        public var warmup: Int
        public var entries: [Entry]
    }
}
