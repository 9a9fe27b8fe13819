import Logging
import NIOCore
import NIOPosix
import SwitchyardBGP
import SwitchyardCore
import SwitchyardNet

/// A BGP-4 speaker that announces routes to its configured peers and learns none: one session
/// per peer (IPv4 or IPv6 transport), active-only (it connects out and never listens, so the
/// routers must accept passively or list the node as a neighbour), optionally TCP-MD5 signed.
///
/// Declarative (STYLE habit 12): `setRoutes` says what should be announced now; each peer's
/// Adj-RIB-Out works out the UPDATEs, sends the whole table on every new session followed by
/// End-of-RIB, and re-sends a family on ROUTE-REFRESH. `stop` ends every session with a Cease.
public final class BGPSpeaker: Sendable {
    private let peers: [BGPPeer]
    private let connectPool: NIOThreadPool
    private let logger: Logger

    /// Creates the sessions without starting them. Each peer runs on one loop of `group`.
    public init(
        peers configurations: [BGPPeerConfiguration],
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) {
        let clock = ExecutorClock()
        // Connects block (up to the connect timeout) and may enter a namespace: one thread per
        // peer keeps a silent peer from delaying the others.
        let pool = NIOThreadPool(numberOfThreads: max(1, configurations.count))
        pool.start()
        connectPool = pool
        self.logger = logger
        peers = configurations.map { configuration in
            BGPPeer(
                configuration: configuration, eventLoop: group.next(), clock: clock, connectPool: pool,
                logger: logger)
        }
    }

    /// Starts every session (RFC 4271 ManualStart): connect now, reconnect with backoff after
    /// each failure until `stop`.
    public func start() {
        logger.info("BGP speaker starting", metadata: ["peers": "\(peers.map(\.configuration.name))"])
        for peer in peers { peer.eventLoop.execute { peer.start() } }
    }

    /// The routes that should be announced to every peer from now on. A peer gets the prefixes of
    /// the families its session negotiated whose next hop is of the prefix's family; what changed
    /// since the last call goes out at once to Established sessions, the rest on their next start.
    public func setRoutes(_ routes: [IPPrefix: BGPRouteAttributes]) {
        for peer in peers { peer.eventLoop.execute { peer.setRoutes(routes) } }
    }

    /// What BFD says about the path to `peer` (the peers with that address). Down ends an open
    /// session at once, without waiting for the hold timer (RFC 5882 §4.3); it reconnects with
    /// backoff, or as soon as BFD is up again. Call it for a loss of an Up BFD session only
    /// (`BFDStateChange.isPathLoss`), not for AdminDown (RFC 5882 §3.2), and with `up: true` on Up.
    public func bfdStateChanged(peer address: IPAddress, up: Bool) {
        for peer in peers where peer.configuration.transport.peerAddress == address {
            peer.eventLoop.execute { peer.bfdStateChanged(up: up) }
        }
    }

    /// Every peer's session, in configuration order.
    public func status() async -> [BGPPeerStatus] {
        var result: [BGPPeerStatus] = []
        for peer in peers {
            if let status = try? await peer.eventLoop.submit({ peer.currentStatus() }).get() {
                result.append(status)
            }
        }
        return result
    }

    /// Ends every session with Cease / Administrative Shutdown (RFC 4486) carrying `reason` as the
    /// RFC 9003 shutdown communication, waits for the connections to close, and releases the
    /// connect threads. The speaker cannot be started again.
    public func stop(reason: String?) async {
        logger.info("BGP speaker stopping", metadata: ["reason": "\(reason ?? "")"])
        for peer in peers {
            _ = try? await peer.eventLoop.flatSubmit { peer.stop(reason: reason) }.get()
        }
        try? await connectPool.shutdownGracefully()
    }
}
