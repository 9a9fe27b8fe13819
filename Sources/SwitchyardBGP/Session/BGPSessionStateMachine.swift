/// One BGP session, RFC 4271 §8, as a value: events in (named for what happened, with the time
/// they happened), actions out. No sockets, no clock: the handler reports, executes the actions
/// and reads `codecContext` before decoding each message.
///
/// We are active-only: this side connects and never listens, so a connection collision
/// (RFC 4271 §6.8) cannot arise; a second connection is refused with `.refuseConnection`.
/// After a failure the session waits in Active and reconnects with exponential backoff; only
/// `stop(reason:)` returns it to Idle.
public struct BGPSessionStateMachine: Sendable {
    public enum State: Hashable, Sendable {
        case idle
        case connect
        case active
        case openSent
        case openConfirm(BGPNegotiatedSession)
        case established(BGPNegotiatedSession)
    }

    /// Why we stop a session ourselves; each is a Cease subcode (RFC 4486), the first two with an
    /// RFC 9003 shutdown communication.
    public enum StopReason: Hashable, Sendable {
        case administrativeShutdown(message: String?)
        case administrativeReset(message: String?)
        case peerDeconfigured

        var notification: BGPNotification {
            switch self {
            case .administrativeShutdown(let message):
                .cease(subcode: BGPNotification.CeaseSubcode.administrativeShutdown, shutdownCommunication: message)
            case .administrativeReset(let message):
                .cease(subcode: BGPNotification.CeaseSubcode.administrativeReset, shutdownCommunication: message)
            case .peerDeconfigured:
                .cease(subcode: BGPNotification.CeaseSubcode.peerDeconfigured)
            }
        }
    }

    public let configuration: BGPSessionConfiguration
    public private(set) var state: State = .idle
    /// When each armed timer is due; an expiry reported before that, or for a timer not armed, is stale.
    private var deadlines: [BGPTimerKind: Duration] = [:]
    /// Consecutive failed attempts; the reconnect wait doubles with each, and Established resets it.
    public private(set) var consecutiveFailures = 0

    public init(configuration: BGPSessionConfiguration) {
        self.configuration = configuration
    }

    /// What was agreed, once the peer's OPEN was accepted.
    public var negotiated: BGPNegotiatedSession? {
        switch state {
        case .openConfirm(let negotiated), .established(let negotiated): negotiated
        default: nil
        }
    }

    /// How to decode the next message: 2-octet ASNs until the OPEN exchange says otherwise.
    public var codecContext: BGPCodecContext {
        negotiated?.codecContext ?? BGPCodecContext(fourOctetASN: false, peerIsExternal: configuration.peerIsExternal)
    }

    /// The wait before the next connect: `connectRetry` doubled per consecutive failure, capped.
    public var connectRetryDelay: Duration {
        var delay = configuration.connectRetry
        for _ in 0..<min(consecutiveFailures, 16) where delay < configuration.maxConnectRetry { delay *= 2 }
        return min(delay, configuration.maxConnectRetry)
    }

    private var isConnected: Bool {
        switch state {
        case .openSent, .openConfirm, .established: true
        case .idle, .connect, .active: false
        }
    }

    // MARK: - Timers

    private mutating func arm(_ kind: BGPTimerKind, at deadline: Duration) -> BGPSessionAction {
        deadlines[kind] = deadline
        return .armTimer(kind, at: deadline)
    }

    private mutating func cancel(_ kind: BGPTimerKind) -> BGPSessionAction {
        deadlines[kind] = nil
        return .cancelTimer(kind)
    }

    /// Consumes the timer when it is really due.
    private mutating func fired(_ kind: BGPTimerKind, at now: Duration) -> Bool {
        guard let deadline = deadlines[kind], now >= deadline else { return false }
        deadlines[kind] = nil
        return true
    }

    /// RFC 4271 §6.5: every KEEPALIVE or UPDATE restarts the hold timer; we restart it on every
    /// message, as FRR does, so a peer busy sending ROUTE-REFRESH is not declared dead.
    private mutating func restartHoldTimer(at now: Duration) -> [BGPSessionAction] {
        guard let negotiated, negotiated.holdTime > 0 else { return [] }
        return [arm(.hold, at: now + .seconds(Int64(negotiated.holdTime)))]
    }

    // MARK: - Connection events

    /// ManualStart (RFC 4271 §8.1.2 event 1): connect now, retry when the timer fires.
    public mutating func start(at now: Duration) -> [BGPSessionAction] {
        guard state == .idle else { return [] }
        state = .connect
        return [.connect, arm(.connectRetry, at: now + connectRetryDelay)]
    }

    /// The connect we asked for completed (RFC 4271 §8.2.2 event 17): send our OPEN and wait for
    /// theirs under the large OpenSent hold timer.
    public mutating func tcpConnected(at now: Duration) -> [BGPSessionAction] {
        guard state == .connect else { return [.refuseConnection] }
        state = .openSent
        return [
            cancel(.connectRetry), .send(.open(configuration.open)),
            arm(.hold, at: now + configuration.openHoldTime),
        ]
    }

    /// The connect failed, or the connection closed under us (events 18, 25).
    public mutating func tcpFailed(at now: Duration) -> [BGPSessionAction] {
        switch state {
        case .idle, .active:
            return []
        case .connect:
            consecutiveFailures += 1
            state = .active
            return [arm(.connectRetry, at: now + connectRetryDelay)]
        case .openSent, .openConfirm, .established:
            return fail(.connectionLost, sending: nil, at: now)
        }
    }

    /// Event 9: in Connect the attempt hangs (abandon it, try again); in Active the wait is over.
    public mutating func connectRetryTimerExpired(at now: Duration) -> [BGPSessionAction] {
        guard fired(.connectRetry, at: now) else { return [] }
        switch state {
        case .connect:
            consecutiveFailures += 1
            return [.close, .connect, arm(.connectRetry, at: now + connectRetryDelay)]
        case .active:
            state = .connect
            return [.connect, arm(.connectRetry, at: now + connectRetryDelay)]
        case .idle, .openSent, .openConfirm, .established:
            return []
        }
    }

    /// ManualStop (event 2): a Cease with the reason, then Idle until `start` again.
    public mutating func stop(reason: StopReason) -> [BGPSessionAction] {
        let notification = reason.notification
        let wasConnected = isConnected
        let previous = state
        state = .idle
        consecutiveFailures = 0
        var actions: [BGPSessionAction] = []
        if wasConnected { actions += [.send(.notification(notification)), .close] }
        if previous == .connect { actions.append(.close) }
        for kind in [BGPTimerKind.connectRetry, .hold, .keepalive] where deadlines[kind] != nil {
            actions.append(cancel(kind))
        }
        if wasConnected { actions.append(.down(.stopped(notification))) }
        return actions
    }

    // MARK: - Messages

    /// Event 19: the peer's OPEN, judged by RFC 4271 §6.2 (and RFC 6286 for the identifier).
    public mutating func receivedOpen(_ open: BGPOpen, at now: Duration) -> [BGPSessionAction] {
        guard state == .openSent else { return unexpected(at: now) }
        let code = BGPNotification.Code.open
        if open.autonomousSystem != configuration.peerASN {
            return fail(BGPNotification(code: code, subcode: BGPNotification.OpenSubcode.badPeerAS), at: now)
        }
        if open.holdTime != 0 && open.holdTime < BGPWire.minNonZeroHoldTime {
            return fail(BGPNotification(code: code, subcode: BGPNotification.OpenSubcode.unacceptableHoldTime), at: now)
        }
        if open.identifier.isUnspecified || open.identifier == configuration.routerID {
            return fail(BGPNotification(code: code, subcode: BGPNotification.OpenSubcode.badBGPIdentifier), at: now)
        }
        let negotiated = BGPNegotiatedSession(
            peerASN: open.autonomousSystem, peerRouterID: open.identifier,
            holdTime: min(configuration.holdTime, open.holdTime),
            families: Set(configuration.families).intersection(open.families),
            peerSupportsRouteRefresh: open.supportsRouteRefresh,
            codecContext: BGPCodecContext(
                fourOctetASN: open.supportsFourOctetASN,
                peerIsExternal: configuration.peerIsExternal))
        state = .openConfirm(negotiated)
        var actions: [BGPSessionAction] = [.send(.keepalive)]
        if let interval = negotiated.keepaliveInterval {
            actions += restartHoldTimer(at: now)
            actions.append(arm(.keepalive, at: now + interval))
        } else {
            // RFC 4271 §4.4: a hold time of 0 means no hold timer and no keepalives.
            actions.append(cancel(.hold))
        }
        return actions
    }

    /// Event 26: confirms the OPEN exchange (OpenConfirm to Established) or proves the peer alive.
    public mutating func receivedKeepalive(at now: Duration) -> [BGPSessionAction] {
        switch state {
        case .openConfirm(let negotiated):
            state = .established(negotiated)
            consecutiveFailures = 0
            return restartHoldTimer(at: now) + [.established(negotiated)]
        case .established:
            return restartHoldTimer(at: now)
        default:
            return unexpected(at: now)
        }
    }

    /// Event 27: routes, passed on with the hold timer restarted.
    public mutating func receivedUpdate(_ update: BGPUpdate, at now: Duration) -> [BGPSessionAction] {
        guard case .established = state else { return unexpected(at: now) }
        return restartHoldTimer(at: now) + [.routes(update)]
    }

    /// Event 24/25: the peer ends the session; no NOTIFICATION is sent back (RFC 4271 §6.4).
    public mutating func receivedNotification(_ notification: BGPNotification, at now: Duration)
        -> [BGPSessionAction]
    {
        guard isConnected else { return [] }
        return fail(.receivedNotification(notification), sending: nil, at: now)
    }

    /// RFC 2918 §4: a refresh for a family that was not negotiated is ignored; so are RFC 7313
    /// BoRR/EoRR markers, since we never advertise enhanced route refresh.
    public mutating func receivedRouteRefresh(_ refresh: BGPRouteRefresh, at now: Duration) -> [BGPSessionAction] {
        guard case .established(let negotiated) = state else { return unexpected(at: now) }
        let actions = restartHoldTimer(at: now)
        guard refresh.subtype == 0, negotiated.families.contains(refresh.family) else { return actions }
        return actions + [.refreshRequested(refresh.family)]
    }

    /// A message that could not be decoded: a session reset sends the NOTIFICATION it names and
    /// closes; treat-as-withdraw and attribute discard never reset (RFC 7606 §2).
    public mutating func decodeFailed(_ error: BGPDecodeError, at now: Duration) -> [BGPSessionAction] {
        guard case .resetSession(let notification) = error, isConnected else { return [] }
        return fail(notification, at: now)
    }

    // MARK: - Timer events

    /// Event 10: the peer went quiet for the hold time (or never sent its OPEN).
    public mutating func holdTimerExpired(at now: Duration) -> [BGPSessionAction] {
        guard isConnected, fired(.hold, at: now) else { return [] }
        return fail(BGPNotification(code: BGPNotification.Code.holdTimerExpired, subcode: 0), at: now)
    }

    /// Event 11: time to prove we are alive.
    public mutating func keepaliveTimerExpired(at now: Duration) -> [BGPSessionAction] {
        guard fired(.keepalive, at: now), let interval = negotiated?.keepaliveInterval else { return [] }
        return [.send(.keepalive), arm(.keepalive, at: now + interval)]
    }

    // MARK: - BFD (RFC 5882)

    /// BFD declared the peer down: the path is gone, so the session ends now instead of at the
    /// hold timer (RFC 5882 §4.3), with Cease / BFD Down (RFC 9384) in case it still gets through.
    /// The reconnect waits in Active with backoff, or until `bfdUp`.
    public mutating func bfdDown(at now: Duration) -> [BGPSessionAction] {
        guard isConnected else { return [] }
        return fail(.cease(subcode: BGPNotification.CeaseSubcode.bfdDown), at: now)
    }

    /// BFD is Up again: a session waiting in Active reconnects now rather than when its backoff ends.
    public mutating func bfdUp(at now: Duration) -> [BGPSessionAction] {
        guard state == .active else { return [] }
        state = .connect
        return [.connect, arm(.connectRetry, at: now + connectRetryDelay)]
    }

    // MARK: - Failure

    /// RFC 6608: a message the state does not allow is an FSM error naming the state.
    private mutating func unexpected(at now: Duration) -> [BGPSessionAction] {
        let subcode: UInt8
        switch state {
        case .openSent: subcode = BGPNotification.FSMSubcode.unexpectedInOpenSent
        case .openConfirm: subcode = BGPNotification.FSMSubcode.unexpectedInOpenConfirm
        case .established: subcode = BGPNotification.FSMSubcode.unexpectedInEstablished
        case .idle, .connect, .active: return []
        }
        return fail(BGPNotification(code: BGPNotification.Code.finiteStateMachine, subcode: subcode), at: now)
    }

    private mutating func fail(_ notification: BGPNotification, at now: Duration) -> [BGPSessionAction] {
        fail(.sentNotification(notification), sending: notification, at: now)
    }

    /// Every failure of a connected session: the NOTIFICATION (if any) goes out before the close,
    /// the session timers stop, and the reconnect waits in Active with backoff.
    private mutating func fail(
        _ reason: BGPSessionDownReason, sending notification: BGPNotification?,
        at now: Duration
    ) -> [BGPSessionAction] {
        var actions: [BGPSessionAction] = []
        if let notification { actions.append(.send(.notification(notification))) }
        actions.append(.close)
        for kind in [BGPTimerKind.hold, .keepalive] where deadlines[kind] != nil { actions.append(cancel(kind)) }
        consecutiveFailures += 1
        state = .active
        actions.append(arm(.connectRetry, at: now + connectRetryDelay))
        actions.append(.down(reason))
        return actions
    }
}
