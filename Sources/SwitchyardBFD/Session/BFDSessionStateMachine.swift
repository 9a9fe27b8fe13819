/// One BFD session in asynchronous mode (RFC 5880 §6.8), as a value: events in, named for what
/// happened and carrying the time they happened (and, where a transmit interval is drawn, a random
/// number in 0...1 for the jitter of §6.8.7); actions out. No sockets, no clock, no randomness.
///
/// We always take the Active role (§6.1): packets go out from `start` on, whether or not the peer
/// has spoken. Demand mode and the Echo function are never requested; authentication is not
/// supported (packets with the A bit never reach the machine).
public struct BFDSessionStateMachine: Sendable {
    public let configuration: BFDSessionConfiguration
    /// bfd.SessionState; Down until `start`, AdminDown after `stop`.
    public private(set) var state: BFDState = .down
    /// bfd.RemoteSessionState: the state in the peer's last packet.
    public private(set) var remoteState: BFDState = .down
    /// bfd.RemoteDiscr: zero until the peer is heard, and again once it goes silent (§6.8.1).
    public private(set) var remoteDiscriminator: UInt32 = 0
    /// bfd.LocalDiag: why our state last changed.
    public private(set) var localDiagnostic: BFDDiagnostic = .none
    /// The Diag of the peer's last packet, for status.
    public private(set) var remoteDiagnostic: BFDDiagnostic = .none
    /// Whether a Poll Sequence (§6.5) is waiting for the peer's Final.
    public private(set) var pollActive = false

    // Timer parameters, in microseconds as on the wire.
    /// bfd.DesiredMinTxInterval as advertised.
    private var advertisedDesiredMinTx: UInt32
    /// What paces our packets: lags an increase of the advertised value while Up until the poll
    /// completes (§6.8.3).
    private var transmitIntervalInUse: UInt32
    /// bfd.RequiredMinRxInterval as advertised.
    private var requiredMinRx: UInt32
    /// What the Detection Time is computed from: lags a decrease while Up until the poll completes.
    private var requiredMinRxForDetection: UInt32
    private var detectMultiplier: UInt8
    /// bfd.RemoteMinRxInterval: initialised to 1 µs (§6.8.1), so we may send before hearing the peer.
    private var remoteMinRx: UInt32 = 1
    private var remoteDesiredMinTx: UInt32 = 0
    private var remoteDetectMultiplier: UInt8 = 0

    private var started = false
    private var lastTransmitAt: Duration?
    /// Packets still to send after an administrative stop.
    private var adminDownPacketsLeft = 0
    private var deadlines: [BFDTimerKind: Duration] = [:]

    public init(configuration: BFDSessionConfiguration) {
        self.configuration = configuration
        let slow = BFDWire.slowTransmitInterval.bfdMicroseconds
        advertisedDesiredMinTx = max(configuration.desiredMinTxInterval.bfdMicroseconds, slow)
        transmitIntervalInUse = advertisedDesiredMinTx
        requiredMinRx = configuration.requiredMinRxInterval.bfdMicroseconds
        requiredMinRxForDetection = requiredMinRx
        detectMultiplier = max(1, configuration.detectMultiplier)
    }

    // MARK: - Derived values

    /// §6.8.7: we send no faster than the slower of what we want and what the peer accepts.
    public var transmitInterval: Duration {
        .bfdMicroseconds(max(transmitIntervalInUse, remoteMinRx))
    }

    /// §6.8.4, asynchronous mode: the peer's Detect Mult times the slower of what we accept and
    /// what the peer wants to send. Zero before the peer is heard.
    public var detectionTime: Duration {
        .bfdMicroseconds(max(requiredMinRxForDetection, remoteDesiredMinTx)) * Int(remoteDetectMultiplier)
    }

    /// The packet we would send now; `final` answers a Poll (and then P is clear, §6.8.7).
    public func controlPacket(final: Bool = false) -> BFDControlPacket {
        BFDControlPacket(
            diagnostic: localDiagnostic, state: state, poll: pollActive && !final, final: final,
            detectMultiplier: detectMultiplier, myDiscriminator: configuration.localDiscriminator,
            yourDiscriminator: remoteDiscriminator, desiredMinTxInterval: advertisedDesiredMinTx,
            requiredMinRxInterval: requiredMinRx)
    }

    // MARK: - Events

    /// Begins the session in Down, sending at the slow rate until the peer answers.
    public mutating func start(at now: Duration, random: Double) -> [BFDSessionAction] {
        guard !started else { return [] }
        started = true
        return transmit(at: now, random: random)
    }

    /// A packet from the peer that passed the codec's checks and was matched to this session
    /// (§6.8.6, from "If the A bit is set" on).
    public mutating func received(_ packet: BFDControlPacket, at now: Duration, random: Double)
        -> [BFDSessionAction]
    {
        guard started else { return [.discarded(.noSession)] }
        guard state != .adminDown else { return [.discarded(.localAdminDown)] }
        var actions: [BFDSessionAction] = []
        if pollActive && packet.final {
            // §6.5: the Poll Sequence is over; the parameters it announced now govern.
            pollActive = false
            transmitIntervalInUse = advertisedDesiredMinTx
            requiredMinRxForDetection = requiredMinRx
        }
        remoteDiscriminator = packet.myDiscriminator
        remoteState = packet.state
        remoteDiagnostic = packet.diagnostic
        remoteMinRx = packet.requiredMinRxInterval
        remoteDesiredMinTx = packet.desiredMinTxInterval
        remoteDetectMultiplier = packet.detectMultiplier

        var next = state
        var diagnostic = localDiagnostic
        switch (state, packet.state) {
        case (.down, .down): next = .`init`
        case (.down, .`init`): next = .up
        case (.`init`, .`init`), (.`init`, .up): next = .up
        case (.`init`, .adminDown), (.up, .adminDown), (.up, .down):
            next = .down
            diagnostic = .neighborSignaledSessionDown
        default: break
        }
        if next != state { actions += changeState(to: next, diagnostic: diagnostic, at: now, random: random) }

        let detection = detectionTime
        if detection > .zero { actions.append(arm(.detection, at: now + detection)) }
        if packet.poll {
            // §6.8.7: answer a Poll at once, whatever the transmit timer says.
            actions.append(.send(controlPacket(final: true)))
        }
        actions += rescheduleTransmitIfSooner(at: now, random: random)
        return actions
    }

    /// Our periodic transmission is due (§6.8.7).
    public mutating func transmitTimerExpired(at now: Duration, random: Double) -> [BFDSessionAction] {
        guard fired(.transmit, at: now) else { return [] }
        if state == .adminDown {
            adminDownPacketsLeft -= 1
            guard adminDownPacketsLeft > 0 else { return [.send(controlPacket()), .finished] }
        }
        return transmit(at: now, random: random)
    }

    /// A Detection Time passed without a packet from the peer (§6.8.4).
    public mutating func detectionTimerExpired(at now: Duration, random: Double) -> [BFDSessionAction] {
        guard fired(.detection, at: now) else { return [] }
        var actions: [BFDSessionAction] = []
        if state == .`init` || state == .up {
            actions += changeState(to: .down, diagnostic: .controlDetectionTimeExpired, at: now, random: random)
        }
        // §6.8.1: a silent peer's discriminator and timers are forgotten.
        remoteDiscriminator = 0
        remoteState = .down
        remoteMinRx = 1
        remoteDesiredMinTx = 0
        remoteDetectMultiplier = 0
        return actions
    }

    /// Takes the session administratively down (§6.8.16): AdminDown with its diagnostic goes out at
    /// once and for `detectMultiplier` more intervals at the current pace, so the peer sees
    /// AdminDown rather than a timeout; then `.finished`.
    public mutating func stop(at now: Duration, random: Double) -> [BFDSessionAction] {
        guard started, state != .adminDown else { return [] }
        var actions = changeState(to: .adminDown, diagnostic: .administrativelyDown, at: now, random: random)
        if deadlines[.detection] != nil { actions.append(cancel(.detection)) }
        adminDownPacketsLeft = Int(detectMultiplier)
        return actions
    }

    /// New timer parameters (e.g. a config reload). While Up they are announced by a Poll
    /// Sequence; a slower transmit rate or a faster receive rate only takes effect once the
    /// peer's Final arrives (§6.8.3).
    public mutating func changeParameters(
        desiredMinTxInterval: Duration, requiredMinRxInterval: Duration, detectMultiplier: UInt8,
        at now: Duration, random: Double
    ) -> [BFDSessionAction] {
        guard started, state != .adminDown else { return [] }
        self.detectMultiplier = max(1, detectMultiplier)
        var desired = desiredMinTxInterval.bfdMicroseconds
        if state != .up { desired = max(desired, BFDWire.slowTransmitInterval.bfdMicroseconds) }
        return setTimers(
            desiredMinTx: desired, requiredMinRx: requiredMinRxInterval.bfdMicroseconds, at: now, random: random)
    }

    // MARK: - Internals

    private mutating func changeState(
        to next: BFDState, diagnostic: BFDDiagnostic, at now: Duration, random: Double
    ) -> [BFDSessionAction] {
        let change = BFDStateChange(
            from: state, to: next, diagnostic: next == .up ? .none : diagnostic, peerState: remoteState)
        state = next
        localDiagnostic = change.diagnostic
        var actions: [BFDSessionAction] = [.stateChanged(change)]
        // §6.8.3: fast once Up (announced by a Poll), at least 1 s otherwise. AdminDown keeps the
        // pace the peer's detection time was computed from, so its packets arrive within it.
        guard next != .adminDown else { return actions + transmit(at: now, random: random) }
        let slow = BFDWire.slowTransmitInterval.bfdMicroseconds
        let configured = configuration.desiredMinTxInterval.bfdMicroseconds
        let desired = next == .up ? configured : max(configured, slow)
        if desired != advertisedDesiredMinTx || next == .down {
            actions += setTimers(desiredMinTx: desired, requiredMinRx: requiredMinRx, at: now, random: random)
        }
        // Tell the peer at once rather than at the next interval.
        if deadlines[.transmit] != nil { actions += transmit(at: now, random: random) }
        return actions
    }

    /// Applies new advertised timers: immediately while not Up; while Up through a Poll Sequence,
    /// keeping the old pace for a slower rate and the old detection time for a faster receive.
    private mutating func setTimers(
        desiredMinTx: UInt32, requiredMinRx newRequiredMinRx: UInt32, at now: Duration,
        random: Double
    ) -> [BFDSessionAction] {
        let changed = desiredMinTx != advertisedDesiredMinTx || newRequiredMinRx != requiredMinRx
        advertisedDesiredMinTx = desiredMinTx
        requiredMinRx = newRequiredMinRx
        guard state == .up else {
            pollActive = false
            transmitIntervalInUse = desiredMinTx
            requiredMinRxForDetection = newRequiredMinRx
            return rescheduleTransmitIfSooner(at: now, random: random)
        }
        guard changed else { return [] }
        pollActive = true
        transmitIntervalInUse = min(transmitIntervalInUse, desiredMinTx)
        requiredMinRxForDetection = max(requiredMinRxForDetection, newRequiredMinRx)
        return []
    }

    /// Sends the current packet and arms the next one, unless the peer asked for none (§6.8.7:
    /// a Required Min RX Interval of zero); a state change is still announced once.
    private mutating func transmit(at now: Duration, random: Double) -> [BFDSessionAction] {
        lastTransmitAt = now
        var actions: [BFDSessionAction] = [.send(controlPacket())]
        if remoteMinRx == 0 && state != .adminDown {
            if deadlines[.transmit] != nil { actions.append(cancel(.transmit)) }
        } else {
            actions.append(arm(.transmit, at: now + jittered(random)))
        }
        return actions
    }

    /// A faster interval (the peer's Required Min RX fell, or ours went Up) takes effect from the
    /// last transmission instead of waiting out the slow timer.
    /// A peer that asks for no packets at all (Required Min RX zero, §6.8.7) gets none.
    private mutating func rescheduleTransmitIfSooner(at now: Duration, random: Double) -> [BFDSessionAction] {
        if remoteMinRx == 0 && state != .adminDown {
            return deadlines[.transmit] == nil ? [] : [cancel(.transmit)]
        }
        guard started, let last = lastTransmitAt else { return [] }
        let due = max(now, last + jittered(random))
        if let armed = deadlines[.transmit], armed <= due { return [] }
        return [arm(.transmit, at: due)]
    }

    /// §6.8.7: 75–100 % of the interval, at most 90 % when Detect Mult is 1.
    private func jittered(_ random: Double) -> Duration {
        let ceiling = detectMultiplier == 1 ? BFDWire.jitterCeilingForMultiplierOne : 1.0
        let unit = random.isFinite ? min(max(random, 0), 1) : 0
        return transmitInterval * (BFDWire.jitterFloor + (ceiling - BFDWire.jitterFloor) * unit)
    }

    private mutating func arm(_ kind: BFDTimerKind, at deadline: Duration) -> BFDSessionAction {
        deadlines[kind] = deadline
        return .armTimer(kind, at: deadline)
    }

    private mutating func cancel(_ kind: BFDTimerKind) -> BFDSessionAction {
        deadlines[kind] = nil
        return .cancelTimer(kind)
    }

    /// Consumes the timer when it is really due; an early or stale firing is ignored.
    private mutating func fired(_ kind: BFDTimerKind, at now: Duration) -> Bool {
        guard let deadline = deadlines[kind], now >= deadline else { return false }
        deadlines[kind] = nil
        return true
    }
}
