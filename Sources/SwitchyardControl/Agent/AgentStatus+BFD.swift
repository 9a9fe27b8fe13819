extension AgentStatus {
    /// The BFD session on the path to one BGP peer (RFC 5880 asynchronous mode, RFC 5881 single
    /// hop), as the admin API and `switchyard status` show it. Plain values: the control layer
    /// does not know the BFD types, and the JSON stays readable by older `switchyard` binaries.
    public struct BFDSession: Sendable, Codable, Equatable {
        /// Our address: packets leave from it and are received on it.
        public var local: String
        /// RFC 5880 §4.1 states, lower camel case: `adminDown`, `down`, `init`, `up`.
        public var state: String
        public var remoteState: String
        /// Why our state last changed (RFC 5880 §4.1 Diag), in words.
        public var localDiagnostic: String
        /// The Diag the peer last sent.
        public var remoteDiagnostic: String
        /// The negotiated pace of our packets and how long the peer may stay silent.
        public var transmitIntervalMs: Double
        public var detectionTimeMs: Double
        public var packetsSent: Int
        /// Packets that reached the session's state machine.
        public var packetsReceived: Int
        /// Sends the kernel refused (e.g. the link is down); the session carries on.
        public var sendErrors: Int
        /// Received packets not believed, by `BFDDiscardReason`.
        public var discarded: [String: Int]
        /// Seconds since the last state change, when there was one.
        public var sinceChangeSeconds: Double?

        public init(
            local: String, state: String, remoteState: String, localDiagnostic: String = "no diagnostic",
            remoteDiagnostic: String = "no diagnostic", transmitIntervalMs: Double = 0, detectionTimeMs: Double = 0,
            packetsSent: Int = 0, packetsReceived: Int = 0, sendErrors: Int = 0, discarded: [String: Int] = [:],
            sinceChangeSeconds: Double? = nil
        ) {
            self.local = local
            self.state = state
            self.remoteState = remoteState
            self.localDiagnostic = localDiagnostic
            self.remoteDiagnostic = remoteDiagnostic
            self.transmitIntervalMs = transmitIntervalMs
            self.detectionTimeMs = detectionTimeMs
            self.packetsSent = packetsSent
            self.packetsReceived = packetsReceived
            self.sendErrors = sendErrors
            self.discarded = discarded
            self.sinceChangeSeconds = sinceChangeSeconds
        }

        public var isUp: Bool { state == "up" }
        public var discardedTotal: Int { discarded.values.reduce(0, +) }
    }
}
