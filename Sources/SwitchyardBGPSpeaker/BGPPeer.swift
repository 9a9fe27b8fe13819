import Logging
import NIOCore
import NIOPosix
import SwitchyardBGP
import SwitchyardCore
import SwitchyardNet

/// One peer's session at run time: the state machine and the Adj-RIB-Out decide, this executes
/// (`execute` is a `switch` over the machine's actions). Every method runs on `eventLoop`, the
/// loop of the peer's channels and timers, so the mutable state below needs no lock.
final class BGPPeer: @unchecked Sendable {
    let eventLoop: any EventLoop
    let configuration: BGPPeerConfiguration
    private let clock: ExecutorClock
    private let connectPool: NIOThreadPool
    private var logger: Logger

    // Confined to `eventLoop`.
    private var machine: BGPSessionStateMachine
    private var ribOut = BGPAdjRIBOut()
    private var channel: (any Channel)?
    /// Bumped by every close, so a connect still in flight when it was abandoned is discarded.
    private var connectGeneration = 0
    private var timers: [BGPTimerKind: Scheduled<Void>] = [:]
    /// The write of the last message, so a close waits for a NOTIFICATION to leave.
    private var lastWrite: EventLoopFuture<Void>?
    private var status: BGPPeerStatus
    private var establishedAt: Duration?

    init(
        configuration: BGPPeerConfiguration, eventLoop: any EventLoop, clock: ExecutorClock,
        connectPool: NIOThreadPool, logger: Logger
    ) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.clock = clock
        self.connectPool = connectPool
        self.logger = logger
        self.logger[metadataKey: "peer"] = "\(configuration.name)"
        self.logger[metadataKey: "peer_as"] = "\(configuration.session.peerASN)"
        machine = BGPSessionStateMachine(configuration: configuration.session)
        status = BGPPeerStatus(
            peer: configuration.name, peerAddress: configuration.transport.peerAddress, state: .idle,
            prefixesAnnounced: 0, updatesSent: 0, updatesReceived: 0)
    }

    // MARK: - Inputs (on the event loop)

    var codecContext: BGPCodecContext {
        eventLoop.assertInEventLoop()
        return machine.codecContext
    }

    func isCurrent(_ candidate: any Channel) -> Bool {
        eventLoop.assertInEventLoop()
        return channel === candidate
    }

    func start() {
        eventLoop.assertInEventLoop()
        execute(machine.start(at: clock.now))
    }

    func setRoutes(_ routes: [IPPrefix: BGPRouteAttributes]) {
        eventLoop.assertInEventLoop()
        sendUpdates(ribOut.set(routes))
    }

    func stop(reason: String?) -> EventLoopFuture<Void> {
        eventLoop.assertInEventLoop()
        let closing = channel?.closeFuture
        execute(machine.stop(reason: .administrativeShutdown(message: reason)))
        return closing ?? eventLoop.makeSucceededVoidFuture()
    }

    /// RFC 5882 §4.3: BFD's verdict on the path to this peer.
    func bfdStateChanged(up: Bool) {
        eventLoop.assertInEventLoop()
        let now = clock.now
        execute(up ? machine.bfdUp(at: now) : machine.bfdDown(at: now))
    }

    func currentStatus() -> BGPPeerStatus {
        eventLoop.assertInEventLoop()
        var snapshot = status
        snapshot.state = BGPPeerStatus.State(machine.state)
        snapshot.negotiated = machine.negotiated
        snapshot.prefixesAnnounced = ribOut.announced.count
        snapshot.uptime = establishedAt.map { clock.now - $0 }
        return snapshot
    }

    func received(_ message: BGPMessage, on source: any Channel) {
        guard isCurrent(source) else { return }
        let now = clock.now
        switch message {
        case .open(let open):
            execute(machine.receivedOpen(open, at: now))
        case .keepalive:
            execute(machine.receivedKeepalive(at: now))
        case .update(let update):
            status.updatesReceived += 1
            execute(machine.receivedUpdate(update, at: now))
        case .notification(let notification):
            status.lastNotificationReceived = BGPNotificationRecord(notification)
            execute(machine.receivedNotification(notification, at: now))
        case .routeRefresh(let refresh):
            execute(machine.receivedRouteRefresh(refresh, at: now))
        }
    }

    func decodeFailed(_ error: BGPDecodeError, on source: any Channel) {
        guard isCurrent(source) else { return }
        logger.warning("undecodable message from peer", metadata: ["error": "\(error)"])
        execute(machine.decodeFailed(error, at: clock.now))
    }

    func connectionClosed(_ source: any Channel) {
        guard isCurrent(source) else { return }
        channel = nil
        execute(machine.tcpFailed(at: clock.now))
    }

    // MARK: - Executing actions

    private func execute(_ actions: [BGPSessionAction]) {
        let before = machine.state
        for action in actions {
            switch action {
            case .connect:
                connect()
            case .close:
                close()
            case .refuseConnection:
                // Only `tcpConnected` outside Connect asks this; `connected(_:)` never reports a
                // connection it abandoned, so there is nothing left to refuse.
                break
            case .send(let message):
                send(message)
                channel?.flush()
            case .armTimer(let kind, let instant):
                timers[kind]?.cancel()
                timers[kind] = eventLoop.scheduleTask(deadline: clock.deadline(instant)) { [self] in
                    timerFired(kind)
                }
            case .cancelTimer(let kind):
                timers.removeValue(forKey: kind)?.cancel()
            case .established(let negotiated):
                establishedAt = clock.now
                logger.info(
                    "session established",
                    metadata: [
                        "hold_time": "\(negotiated.holdTime)",
                        "families": "\(negotiated.families.map { "\($0)" }.sorted())",
                    ])
                sendUpdates(
                    ribOut.sessionEstablished(localASN: configuration.session.localASN, negotiated: negotiated))
            case .routes(let update):
                // We announce only; routes the router sends us are counted, not used.
                logger.trace("routes from peer ignored", metadata: ["update": "\(update)"])
            case .refreshRequested(let family):
                logger.info("route refresh requested", metadata: ["family": "\(family)"])
                sendUpdates(ribOut.refresh(family))
            case .down(let reason):
                establishedAt = nil
                ribOut.sessionDown()
                status.lastError = .sessionDown(reason)
                logger.notice("session down", metadata: ["reason": "\(BGPPeerError.sessionDown(reason))"])
            }
        }
        if machine.state != before {
            logger.debug("state \(BGPPeerStatus.State(before)) -> \(BGPPeerStatus.State(machine.state))")
        }
    }

    private func timerFired(_ kind: BGPTimerKind) {
        timers[kind] = nil
        let now = clock.now
        switch kind {
        case .connectRetry: execute(machine.connectRetryTimerExpired(at: now))
        case .hold: execute(machine.holdTimerExpired(at: now))
        case .keepalive: execute(machine.keepaliveTimerExpired(at: now))
        }
    }

    /// Opens the socket on the connect pool (it may block for the connect timeout and enters a
    /// namespace on its thread), then gives the connected descriptor to NIO on this loop.
    private func connect() {
        connectGeneration += 1
        let generation = connectGeneration
        let transport = configuration.transport
        let opened = connectPool.runIfActive(eventLoop: eventLoop) { () throws -> CInt in
            try BGPSocket.connect(transport)
        }
        opened.whenComplete { [self] result in
            switch result {
            case .success(let fd):
                guard generation == connectGeneration else {
                    BGPSocket.discard(fd)
                    return
                }
                adopt(fd, generation: generation)
            case .failure(let error):
                guard generation == connectGeneration else { return }
                if let error = error as? BGPSocketError {
                    status.lastError = .connectFailed(error)
                    logger.debug("connect failed", metadata: ["error": "\(error)"])
                }
                execute(machine.tcpFailed(at: clock.now))
            }
        }
    }

    private func adopt(_ fd: CInt, generation: Int) {
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(BGPMessageHandler(peer: self))
                }
            }
            .withConnectedSocket(fd)
            .whenComplete { [self] result in
                switch result {
                case .success(let connected):
                    guard generation == connectGeneration, channel == nil else {
                        connected.close(promise: nil)
                        return
                    }
                    channel = connected
                    execute(machine.tcpConnected(at: clock.now))
                case .failure:
                    guard generation == connectGeneration else { return }
                    execute(machine.tcpFailed(at: clock.now))
                }
            }
    }

    private func close() {
        connectGeneration += 1
        guard let closing = channel else { return }
        channel = nil
        let written = lastWrite ?? eventLoop.makeSucceededVoidFuture()
        lastWrite = nil
        written.whenComplete { _ in closing.close(promise: nil) }
    }

    private func send(_ message: BGPMessage) {
        guard let channel else { return }
        var buffer = channel.allocator.buffer(capacity: 64)
        message.write(into: &buffer, context: machine.codecContext)
        switch message {
        case .update: status.updatesSent += 1
        case .notification(let notification):
            status.lastNotificationSent = BGPNotificationRecord(notification)
            logger.notice("notification sent", metadata: ["notification": "\(notification)"])
        case .open, .keepalive, .routeRefresh: break
        }
        lastWrite = channel.write(buffer)
    }

    /// UPDATEs from the Adj-RIB-Out, written together and flushed once.
    private func sendUpdates(_ updates: [BGPUpdate]) {
        guard !updates.isEmpty, channel != nil else { return }
        for update in updates { send(.update(update)) }
        channel?.flush()
    }
}
