import Logging
import NIOCore
import SwitchyardBFD
import SwitchyardCore
import SwitchyardNet

/// One peer's session at run time: the state machine decides, this executes (`execute` is a
/// `switch` over its actions). Every mutable field is confined to `eventLoop`, the loop of the
/// session's timers, so it needs no lock; other threads reach it through `eventLoop.execute`.
public final class BFDSession: @unchecked Sendable {
    public let peer: BFDPeerConfiguration
    public let localDiscriminator: UInt32
    /// Every change of the local state, in order: Up, and Down with the diagnostic that says why.
    /// Ends when the session is stopped.
    public let stateChanges: AsyncStream<BFDStateChange>

    let key: BFDReceiver.Key
    let eventLoop: any EventLoop
    private let sendSocket: CInt
    private let clock: ExecutorClock
    private var logger: Logger
    private let onChange: (@Sendable (BFDStateChange) -> Void)?
    private let continuation: AsyncStream<BFDStateChange>.Continuation
    private let finishedPromise: EventLoopPromise<Void>
    private let removeFromService: @Sendable (BFDSession) -> Void

    // Confined to `eventLoop`.
    private var machine: BFDSessionStateMachine
    private var timers: [BFDTimerKind: Scheduled<Void>] = [:]
    private var packetsSent = 0
    private var packetsReceived = 0
    private var sendErrors = 0
    private var discarded: [BFDDiscardReason: Int] = [:]
    private var lastChangeAt: Duration?
    private var closed = false

    init(
        peer: BFDPeerConfiguration, key: BFDReceiver.Key, localDiscriminator: UInt32, sendSocket: CInt,
        eventLoop: any EventLoop, clock: ExecutorClock, logger: Logger,
        onChange: (@Sendable (BFDStateChange) -> Void)?, finished: @escaping @Sendable (BFDSession) -> Void
    ) {
        self.peer = peer
        self.key = key
        self.localDiscriminator = localDiscriminator
        self.sendSocket = sendSocket
        self.eventLoop = eventLoop
        self.clock = clock
        self.logger = logger
        self.logger[metadataKey: "bfd_peer"] = "\(peer.peerAddress)"
        self.logger[metadataKey: "bfd_local"] = "\(peer.localAddress)"
        self.onChange = onChange
        removeFromService = finished
        finishedPromise = eventLoop.makePromise()
        (stateChanges, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        machine = BFDSessionStateMachine(
            configuration: BFDSessionConfiguration(
                localDiscriminator: localDiscriminator, interval: peer.interval, multiplier: peer.multiplier))
    }

    // MARK: - Public

    /// The session now (also after `stop`); throws only when its event loop has shut down.
    public func status() async throws -> BFDSessionStatus {
        try await eventLoop.submit { self.currentStatus() }.get()
    }

    /// Takes the session administratively down: AdminDown goes to the peer for a detection time
    /// (so it sees Down with "administratively down", not a timeout), then the socket closes.
    /// Returns when it has. The session cannot be started again; start a new one.
    public func stop() async {
        let done = eventLoop.flatSubmit { [self] in
            execute(machine.stop(at: clock.now, random: .random(in: 0...1)))
            return finishedPromise.futureResult
        }
        try? await done.get()
    }

    // MARK: - Inputs (on any thread)

    func deliver(_ packet: BFDControlPacket) {
        eventLoop.execute { [self] in
            guard !closed else { return }
            packetsReceived += 1
            execute(machine.received(packet, at: clock.now, random: .random(in: 0...1)))
        }
    }

    func countDiscard(_ reason: BFDDiscardReason) {
        eventLoop.execute { [self] in discarded[reason, default: 0] += 1 }
    }

    func start() {
        eventLoop.assertInEventLoop()
        logger.info(
            "BFD session starting",
            metadata: [
                "interval": "\(peer.interval)",
                "multiplier": "\(peer.multiplier)", "local_discriminator": "\(localDiscriminator)",
            ])
        execute(machine.start(at: clock.now, random: .random(in: 0...1)))
    }

    // MARK: - Executing actions

    private func execute(_ actions: [BFDSessionAction]) {
        for action in actions {
            switch action {
            case .send(let packet):
                var buffer = ByteBuffer()
                packet.write(into: &buffer)
                if let error = BFDSocket.send(sendSocket, Array(buffer.readableBytesView), to: peer.peerAddress) {
                    sendErrors += 1
                    logger.trace("send failed", metadata: ["errno": "\(error)"])
                } else {
                    packetsSent += 1
                }
            case .armTimer(let kind, let instant):
                timers[kind]?.cancel()
                timers[kind] = eventLoop.scheduleTask(deadline: clock.deadline(instant)) { [self] in
                    timerFired(kind)
                }
            case .cancelTimer(let kind):
                timers.removeValue(forKey: kind)?.cancel()
            case .stateChanged(let change):
                lastChangeAt = clock.now
                let metadata: Logger.Metadata = [
                    "from": "\(change.from)", "to": "\(change.to)", "diagnostic": "\(change.diagnostic)",
                    "remote_state": "\(change.peerState)", "remote_discriminator": "\(machine.remoteDiscriminator)",
                ]
                if change.to == .up {
                    logger.notice("BFD session up", metadata: metadata)
                } else {
                    logger.notice("BFD session state changed", metadata: metadata)
                }
                onChange?(change)
                continuation.yield(change)
            case .discarded(let reason):
                discarded[reason, default: 0] += 1
            case .finished:
                close()
            }
        }
    }

    private func timerFired(_ kind: BFDTimerKind) {
        timers[kind] = nil
        guard !closed else { return }
        let now = clock.now
        switch kind {
        case .transmit: execute(machine.transmitTimerExpired(at: now, random: .random(in: 0...1)))
        case .detection: execute(machine.detectionTimerExpired(at: now, random: .random(in: 0...1)))
        }
    }

    private func close() {
        guard !closed else { return }
        closed = true
        for timer in timers.values { timer.cancel() }
        timers = [:]
        BFDSocket.discard(sendSocket)
        continuation.finish()
        removeFromService(self)
        logger.info("BFD session stopped")
        finishedPromise.succeed()
    }

    private func currentStatus() -> BFDSessionStatus {
        BFDSessionStatus(
            peer: peer, state: machine.state, remoteState: machine.remoteState,
            localDiagnostic: machine.localDiagnostic, remoteDiagnostic: machine.remoteDiagnostic,
            localDiscriminator: localDiscriminator, remoteDiscriminator: machine.remoteDiscriminator,
            transmitInterval: machine.transmitInterval, detectionTime: machine.detectionTime,
            packetsSent: packetsSent, packetsReceived: packetsReceived, sendErrors: sendErrors,
            discarded: discarded, sinceLastChange: lastChangeAt.map { clock.now - $0 })
    }
}
