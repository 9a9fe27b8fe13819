extension DatapathBench {
    /// One of issue 11's targets, judged on this run's net medians: the bound is a constant or
    /// another case of the same run plus a margin; `floor` is what the case cannot go below on
    /// this machine by this design (another case of the same run), for a target missed.
    public struct Target: Sendable, Encodable, Equatable {
        public var name: String
        public var caseID: String
        public var measured: Double
        public var bound: Double
        public var met: Bool { measured <= bound }
        public var floorCase: String?
        public var floor: Double?

        enum CodingKeys: String, CodingKey {
            case name
            case caseID = "case"
            case measured = "ns_net_p50"
            case bound = "bound_ns"
            case met
            case floorCase = "floor_case"
            case floor = "floor_ns"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(caseID, forKey: .caseID)
            try c.encode(measured, forKey: .measured)
            try c.encode(bound, forKey: .bound)
            try c.encode(met, forKey: .met)
            try c.encodeIfPresent(floorCase, forKey: .floorCase)
            try c.encodeIfPresent(floor, forKey: .floor)
        }
    }
}

extension DatapathBench.Report {
    typealias ID = DatapathBench.CaseID

    /// Issue 11's targets for the main object, where the cases they need ran.
    public var targets: [DatapathBench.Target] {
        func net(_ id: String) -> Double? { self.case(id)?.net.p50 }
        var out: [DatapathBench.Target] = []
        func add(_ name: String, _ id: String, bound: Double?, floor: String? = nil) {
            guard let measured = net(id), let bound else { return }
            out.append(
                DatapathBench.Target(
                    name: name, caseID: id, measured: measured, bound: bound, floorCase: floor,
                    floor: floor.flatMap(net)))
        }
        add("non-VIP pass <= 20 ns", ID.nonVIP, bound: 20)
        add("established, one hot flow <= 80 ns", ID.establishedV4, bound: 80, floor: ID.forwardFloor)
        add(
            "new flow, half-full table <= one cold read + 80 ns", ID.newFlowHalfFull,
            bound: net(ID.coldRead).map { $0 + 80 }, floor: ID.coldReadPair)
        add(
            "established, random flows of a full table <= one cold read + 60 ns", ID.largeRandom,
            bound: net(ID.coldRead).map { $0 + 60 }, floor: ID.coldReadPair)
        add(
            "SYN flood on a full table <= established over it", ID.synFlood, bound: net(ID.largeRandom),
            floor: ID.coldReadPair)
        add("FIB path (cached next hop) <= fixed MACs", ID.fib, bound: net(ID.establishedV4))
        return out
    }
}
