import SwitchyardCore

extension AgentStatus {
    /// The node's BGP: its sessions and what it announces (nil in `AgentStatus.bgp` when the node
    /// speaks no BGP).
    public struct BGPStatus: Sendable, Codable, Equatable {
        public var asn: UInt32
        public var routerID: String
        /// True from a drain request (`switchyard drain`, SIGTERM) until it is cancelled.
        public var draining: Bool
        public var drainSeconds: Double
        public var peers: [BGPPeer]
        /// Every VIP of the config, in address order.
        public var vips: [VIPAnnouncement]

        public init(
            asn: UInt32, routerID: String, draining: Bool, drainSeconds: Double, peers: [BGPPeer],
            vips: [VIPAnnouncement]
        ) {
            self.asn = asn
            self.routerID = routerID
            self.draining = draining
            self.drainSeconds = drainSeconds
            self.peers = peers
            self.vips = vips
        }
    }

    /// One BGP session as the speaker reports it.
    public struct BGPPeer: Sendable, Codable, Equatable {
        /// Address, and port when not 179.
        public var peer: String
        public var asn: UInt32
        /// RFC 4271 §8.2.2: idle, connect, active, openSent, openConfirm, established.
        public var state: String
        /// Seconds Established; nil when it is not.
        public var uptimeSeconds: Double?
        /// Why the session last failed (kept after it recovers).
        public var lastError: String?
        public var lastNotificationSent: Notification?
        public var lastNotificationReceived: Notification?
        public var prefixesAnnounced: Int
        public var updatesSent: Int
        public var updatesReceived: Int
        /// The BFD session on the path to the peer; nil when the peer has no `bfd` (and in the
        /// status of agents that predate BFD).
        public var bfd: BFDSession?

        public init(
            peer: String, asn: UInt32, state: String, uptimeSeconds: Double? = nil, lastError: String? = nil,
            lastNotificationSent: Notification? = nil, lastNotificationReceived: Notification? = nil,
            prefixesAnnounced: Int = 0, updatesSent: Int = 0, updatesReceived: Int = 0, bfd: BFDSession? = nil
        ) {
            self.peer = peer
            self.asn = asn
            self.state = state
            self.uptimeSeconds = uptimeSeconds
            self.lastError = lastError
            self.lastNotificationSent = lastNotificationSent
            self.lastNotificationReceived = lastNotificationReceived
            self.prefixesAnnounced = prefixesAnnounced
            self.updatesSent = updatesSent
            self.updatesReceived = updatesReceived
            self.bfd = bfd
        }

        public var isEstablished: Bool { state == "established" }
    }

    /// A NOTIFICATION (RFC 4271 §4.5) with its RFC 9003 shutdown text, if any.
    public struct Notification: Sendable, Codable, Equatable, CustomStringConvertible {
        public var code: UInt8
        public var subcode: UInt8
        public var text: String?

        public init(code: UInt8, subcode: UInt8, text: String? = nil) {
            self.code = code
            self.subcode = subcode
            self.text = text
        }

        public var description: String { "\(code)/\(subcode)" + (text.map { " \"\($0)\"" } ?? "") }
    }

    /// Whether this node announces a VIP, and why not when it does not.
    public struct VIPAnnouncement: Sendable, Codable, Equatable {
        public var vip: String
        /// `normal`, `gshut` (GRACEFUL_SHUTDOWN while draining) or `withheld`.
        public var state: String
        /// `AnnouncementWithheldReason` when withheld.
        public var reason: String?

        public init(vip: String, state: String, reason: String? = nil) {
            self.vip = vip
            self.state = state
            self.reason = reason
        }

        public var isAnnounced: Bool { state != "withheld" }
    }
}

extension AgentStatus.VIPAnnouncement {
    /// Every VIP of `decision`, in address order.
    static func all(_ decision: AnnouncementDecision) -> [Self] {
        let vips = Set(decision.announced.keys).union(decision.withheld.keys).sorted()
        return vips.map { vip in
            switch (decision.announced[vip], decision.withheld[vip]) {
            case (.normal?, _): Self(vip: "\(vip)", state: "normal")
            case (.gracefulShutdown?, _): Self(vip: "\(vip)", state: "gshut")
            case (nil, let reason): Self(vip: "\(vip)", state: "withheld", reason: reason?.rawValue)
            }
        }
    }
}
