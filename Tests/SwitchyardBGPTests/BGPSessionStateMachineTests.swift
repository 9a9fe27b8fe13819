import SwitchyardCore
import Testing

@testable import SwitchyardBGP

/// Every transition and timer of RFC 4271 §8 as we run it, with a manual clock.
@Suite struct BGPSessionStateMachineTests {
    static let configuration = try! BGPSessionConfiguration(
        localASN: 65001, routerID: T.v4("10.0.0.1"), peerASN: 65002, holdTime: 90)
    static let peerOpen = BGPOpen(
        asn: 65002, holdTime: 30, identifier: T.v4("10.0.0.2"),
        families: [.ipv4Unicast, .ipv6Unicast])

    /// A session driven to `state`; the clock is the `now` each step passes.
    static func session(in target: String, at now: Duration = .zero) -> BGPSessionStateMachine {
        var session = BGPSessionStateMachine(configuration: configuration)
        guard target != "idle" else { return session }
        _ = session.start(at: now)
        guard target != "connect" else { return session }
        _ = session.tcpConnected(at: now)
        guard target != "openSent" else { return session }
        _ = session.receivedOpen(peerOpen, at: now)
        guard target != "openConfirm" else { return session }
        _ = session.receivedKeepalive(at: now)
        return session
    }

    static func notification(_ code: UInt8, _ subcode: UInt8) -> BGPNotification {
        BGPNotification(code: code, subcode: subcode)
    }

    /// The shape of every failure: NOTIFICATION first, then close, timers stopped, reconnect
    /// armed, down.
    static func expectFailure(
        _ actions: [BGPSessionAction], sent notification: BGPNotification?,
        session: BGPSessionStateMachine, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        if let notification {
            #expect(actions.first == .send(.notification(notification)), sourceLocation: sourceLocation)
            let close = actions.firstIndex(of: .close) ?? -1
            #expect(close == 1, "NOTIFICATION before close", sourceLocation: sourceLocation)
            #expect(actions.last == .down(.sentNotification(notification)), sourceLocation: sourceLocation)
        } else {
            #expect(actions.first == .close, sourceLocation: sourceLocation)
        }
        #expect(session.state == .active, sourceLocation: sourceLocation)
        #expect(
            actions.contains { if case .armTimer(.connectRetry, _) = $0 { true } else { false } },
            sourceLocation: sourceLocation)
    }

    // MARK: Connect

    @Test func startConnectsAndArmsTheRetryTimer() {
        var session = Self.session(in: "idle")
        #expect(session.start(at: .seconds(100)) == [.connect, .armTimer(.connectRetry, at: .seconds(105))])
        #expect(session.state == .connect)
        #expect(session.start(at: .seconds(101)) == [], "already started")
    }

    @Test func connectedSendsOpenAndArmsTheLargeHoldTimer() {
        var session = Self.session(in: "connect")
        let actions = session.tcpConnected(at: .seconds(10))
        #expect(
            actions == [
                .cancelTimer(.connectRetry), .send(.open(Self.configuration.open)),
                .armTimer(.hold, at: .seconds(250)),
            ])
        #expect(session.state == .openSent)
    }

    /// Active-only: a second connection is refused, the session's own is untouched.
    @Test func secondConnectionIsRefused() {
        for state in ["openSent", "openConfirm", "established"] {
            var session = Self.session(in: state)
            let before = session.state
            #expect(session.tcpConnected(at: .seconds(1)) == [.refuseConnection])
            #expect(session.state == before)
        }
    }

    /// Reconnects wait 5, 10, 20, 40, 80, 120, 120 s: doubling, capped.
    @Test func connectRetryBacksOffExponentiallyWithACap() {
        var session = Self.session(in: "connect")
        var now = Duration.zero
        var waits: [Duration] = []
        for _ in 0..<7 {
            let failed = session.tcpFailed(at: now)
            guard case .armTimer(.connectRetry, let deadline)? = failed.last else {
                Issue.record("\(failed)")
                return
            }
            #expect(session.state == .active)
            waits.append(deadline - now)
            now = deadline
            #expect(session.connectRetryTimerExpired(at: now).first == .connect)
            #expect(session.state == .connect)
        }
        #expect(waits == [10, 20, 40, 80, 120, 120, 120].map { Duration.seconds($0) })
    }

    @Test func hungConnectIsAbandonedAndRetried() {
        var session = Self.session(in: "connect")
        let actions = session.connectRetryTimerExpired(at: .seconds(5))
        #expect(actions == [.close, .connect, .armTimer(.connectRetry, at: .seconds(15))])
        #expect(session.state == .connect)
    }

    @Test func staleTimerFiringsAreIgnored() {
        var session = Self.session(in: "connect")
        #expect(session.connectRetryTimerExpired(at: .seconds(4)) == [], "before its deadline")
        var established = Self.session(in: "established")
        #expect(established.holdTimerExpired(at: .seconds(29)) == [])
        #expect(established.keepaliveTimerExpired(at: .seconds(9)) == [])
        #expect(established.state != .active)
    }

    // MARK: OPEN

    @Test func acceptedOpenNegotiatesHoldTimeAndKeepalive() {
        var session = Self.session(in: "openSent")
        let actions = session.receivedOpen(Self.peerOpen, at: .seconds(2))
        #expect(
            actions == [
                .send(.keepalive), .armTimer(.hold, at: .seconds(32)),
                .armTimer(.keepalive, at: .seconds(12)),
            ])
        let negotiated = session.negotiated
        #expect(negotiated?.holdTime == 30)
        #expect(negotiated?.families == [.ipv4Unicast, .ipv6Unicast])
        #expect(session.codecContext == BGPCodecContext(fourOctetASN: true, peerIsExternal: true))
    }

    @Test func holdTimeZeroMeansNoTimers() {
        var session = Self.session(in: "openSent")
        var open = Self.peerOpen
        open.holdTime = 0
        #expect(session.receivedOpen(open, at: .seconds(2)) == [.send(.keepalive), .cancelTimer(.hold)])
        #expect(session.receivedKeepalive(at: .seconds(3)).count == 1, "just .established")
        #expect(session.keepaliveTimerExpired(at: .seconds(1000)) == [])
    }

    @Test(arguments: [UInt16(1), 2])
    func holdTimeOfOneOrTwoSecondsIsRefused(_ holdTime: UInt16) {
        var session = Self.session(in: "openSent")
        var open = Self.peerOpen
        open.holdTime = holdTime
        Self.expectFailure(session.receivedOpen(open, at: .seconds(1)), sent: Self.notification(2, 6), session: session)
    }

    @Test func wrongPeerASIsBadPeerAS() {
        var session = Self.session(in: "openSent")
        let open = BGPOpen(asn: 65009, holdTime: 30, identifier: T.v4("10.0.0.2"), families: [.ipv4Unicast])
        Self.expectFailure(session.receivedOpen(open, at: .seconds(1)), sent: Self.notification(2, 2), session: session)
    }

    @Test func sameOrZeroRouterIDIsBadIdentifier() {
        for identifier in [T.v4("10.0.0.1"), T.v4("0.0.0.0")] {
            var session = Self.session(in: "openSent")
            var open = Self.peerOpen
            open.identifier = identifier
            Self.expectFailure(
                session.receivedOpen(open, at: .seconds(1)), sent: Self.notification(2, 3),
                session: session)
        }
    }

    /// A peer without the 4-octet capability: 2-octet AS_PATH from then on.
    @Test func twoOctetPeerKeepsTwoOctetASPaths() {
        var session = Self.session(in: "openSent")
        let open = BGPOpen(myAS: 65002, holdTime: 30, identifier: T.v4("10.0.0.2"), capabilities: [])
        _ = session.receivedOpen(open, at: .seconds(1))
        #expect(session.codecContext.fourOctetASN == false)
        #expect(session.negotiated?.families == [.ipv4Unicast])
    }

    // MARK: Established

    @Test func keepaliveInOpenConfirmEstablishes() {
        var session = Self.session(in: "openConfirm")
        let actions = session.receivedKeepalive(at: .seconds(5))
        guard let negotiated = session.negotiated else {
            Issue.record("not negotiated")
            return
        }
        #expect(actions == [.armTimer(.hold, at: .seconds(35)), .established(negotiated)])
        #expect(session.state == .established(negotiated))
    }

    @Test func messagesRestartTheHoldTimer() {
        var session = Self.session(in: "established")
        #expect(session.receivedKeepalive(at: .seconds(20)) == [.armTimer(.hold, at: .seconds(50))])
        let update = BGPUpdate(withdrawn: [T.prefix("10.0.0.0/8")])
        #expect(
            session.receivedUpdate(update, at: .seconds(40)) == [
                .armTimer(.hold, at: .seconds(70)),
                .routes(update),
            ])
        #expect(session.holdTimerExpired(at: .seconds(60)) == [], "restarted, so not due")
    }

    @Test func keepaliveTimerSendsKeepalivesEveryThirdOfTheHoldTime() {
        var session = Self.session(in: "established")
        #expect(
            session.keepaliveTimerExpired(at: .seconds(10)) == [
                .send(.keepalive),
                .armTimer(.keepalive, at: .seconds(20)),
            ])
        #expect(
            session.keepaliveTimerExpired(at: .seconds(20)) == [
                .send(.keepalive),
                .armTimer(.keepalive, at: .seconds(30)),
            ])
    }

    @Test func holdTimerExpiryNotifiesAndCloses() {
        for state in ["openSent", "openConfirm", "established"] {
            var session = Self.session(in: state)
            let due: Duration = state == "openSent" ? .seconds(240) : .seconds(30)
            Self.expectFailure(session.holdTimerExpired(at: due), sent: Self.notification(4, 0), session: session)
        }
    }

    @Test func routeRefreshForANegotiatedFamilyAsksForAResend() {
        var session = Self.session(in: "established")
        #expect(
            session.receivedRouteRefresh(BGPRouteRefresh(family: .ipv6Unicast), at: .seconds(1))
                == [.armTimer(.hold, at: .seconds(31)), .refreshRequested(.ipv6Unicast)])
        let other = BGPRouteRefresh(family: BGPAddressFamily(afi: 25, safi: 65))
        #expect(session.receivedRouteRefresh(other, at: .seconds(2)) == [.armTimer(.hold, at: .seconds(32))])
        let marker = BGPRouteRefresh(family: .ipv4Unicast, subtype: 1)
        #expect(session.receivedRouteRefresh(marker, at: .seconds(3)) == [.armTimer(.hold, at: .seconds(33))])
    }

    // MARK: Errors and shutdown

    @Test func unexpectedMessagesAreFSMErrorsNamingTheState() {
        var openSent = Self.session(in: "openSent")
        Self.expectFailure(
            openSent.receivedKeepalive(at: .seconds(1)), sent: Self.notification(5, 1),
            session: openSent)
        var openConfirm = Self.session(in: "openConfirm")
        Self.expectFailure(
            openConfirm.receivedUpdate(BGPUpdate(), at: .seconds(1)), sent: Self.notification(5, 2),
            session: openConfirm)
        var established = Self.session(in: "established")
        Self.expectFailure(
            established.receivedOpen(Self.peerOpen, at: .seconds(1)), sent: Self.notification(5, 3),
            session: established)
    }

    @Test func decodeErrorsResetOnlyWhenTheyNameAReset() {
        var session = Self.session(in: "established")
        let withdraw = BGPDecodeError.treatAsWithdraw(BGPAttributeError(attributeType: 1, problem: .invalidOrigin(9)))
        #expect(session.decodeFailed(withdraw, at: .seconds(1)) == [])
        let discard = BGPDecodeError.discardAttribute(BGPAttributeError(attributeType: 5, problem: .fromExternalPeer))
        #expect(session.decodeFailed(discard, at: .seconds(1)) == [])
        #expect(session.negotiated != nil)
        let reset = Self.notification(1, 1)
        Self.expectFailure(
            session.decodeFailed(.resetSession(notification: reset), at: .seconds(2)), sent: reset,
            session: session)
    }

    @Test func peerNotificationClosesWithoutAnswering() {
        var session = Self.session(in: "established")
        let cease = BGPNotification.cease(subcode: 2, shutdownCommunication: "bye")
        let actions = session.receivedNotification(cease, at: .seconds(1))
        Self.expectFailure(actions, sent: nil, session: session)
        #expect(!actions.contains { if case .send = $0 { true } else { false } })
        #expect(actions.last == .down(.receivedNotification(cease)))
    }

    @Test func connectionLossGoesDownAndReconnects() {
        var session = Self.session(in: "established")
        let actions = session.tcpFailed(at: .seconds(50))
        Self.expectFailure(actions, sent: nil, session: session)
        #expect(actions.last == .down(.connectionLost))
        #expect(actions.contains(.armTimer(.connectRetry, at: .seconds(60))))
        #expect(session.connectRetryTimerExpired(at: .seconds(60)).first == .connect)
    }

    @Test func establishedResetsTheBackoff() {
        var session = Self.session(in: "established")
        _ = session.tcpFailed(at: .zero)
        #expect(session.consecutiveFailures == 1)
        _ = session.connectRetryTimerExpired(at: .seconds(10))
        _ = session.tcpConnected(at: .seconds(10))
        _ = session.receivedOpen(Self.peerOpen, at: .seconds(10))
        _ = session.receivedKeepalive(at: .seconds(10))
        #expect(session.consecutiveFailures == 0)
    }

    @Test func stopSendsCeaseWithTextThenCloses() {
        var session = Self.session(in: "established")
        let actions = session.stop(reason: .administrativeShutdown(message: "draining node"))
        let cease = BGPNotification.cease(subcode: 2, shutdownCommunication: "draining node")
        #expect(
            actions == [
                .send(.notification(cease)), .close, .cancelTimer(.hold), .cancelTimer(.keepalive),
                .down(.stopped(cease)),
            ])
        #expect(session.state == .idle)
        #expect(session.holdTimerExpired(at: .seconds(1000)) == [])
    }

    @Test func stopBeforeConnectingJustStops() {
        var connect = Self.session(in: "connect")
        #expect(connect.stop(reason: .peerDeconfigured) == [.close, .cancelTimer(.connectRetry)])
        var active = Self.session(in: "connect")
        _ = active.tcpFailed(at: .zero)
        #expect(active.stop(reason: .peerDeconfigured) == [.cancelTimer(.connectRetry)])
        #expect(active.state == .idle)
        #expect(active.connectRetryTimerExpired(at: .seconds(1000)) == [])
    }

    @Test func configurationRefusesForbiddenHoldTimes() {
        #expect(throws: BGPSessionConfiguration.Invalid.holdTime(2)) {
            try BGPSessionConfiguration(localASN: 1, routerID: T.v4("10.0.0.1"), peerASN: 2, holdTime: 2)
        }
    }
}
