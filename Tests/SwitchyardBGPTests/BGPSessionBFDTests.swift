import Testing

@testable import SwitchyardBGP

/// RFC 5882 §4.3: BFD's Down ends the session at once, not at the hold timer; its Up again
/// reconnects without waiting out the backoff.
@Suite struct BGPSessionBFDTests {
    typealias Machine = BGPSessionStateMachineTests

    @Test func bfdDownEndsAnEstablishedSessionWithCeaseBFDDown() {
        var session = Machine.session(in: "established")
        let actions = session.bfdDown(at: .seconds(3))
        let cease = BGPNotification(code: BGPNotification.Code.cease, subcode: BGPNotification.CeaseSubcode.bfdDown)
        Machine.expectFailure(actions, sent: cease, session: session)
        #expect(actions.contains(.cancelTimer(.hold)), "the hold timer is not waited for")
    }

    @Test(arguments: ["openSent", "openConfirm"])
    func bfdDownEndsAConnectingSessionToo(state: String) {
        var session = Machine.session(in: state)
        #expect(session.bfdDown(at: .seconds(1)).contains(.close))
        #expect(session.state == .active)
    }

    @Test(arguments: ["idle", "connect"])
    func bfdDownWithoutAConnectionDoesNothing(state: String) {
        var session = Machine.session(in: state)
        #expect(session.bfdDown(at: .seconds(1)).isEmpty)
    }

    @Test func bfdUpReconnectsAtOnceFromActive() {
        var session = Machine.session(in: "established")
        _ = session.bfdDown(at: .seconds(3))
        let actions = session.bfdUp(at: .seconds(4))
        #expect(actions.first == .connect)
        #expect(session.state == .connect)
        // The backoff's own timer, now stale, changes nothing when it fires.
        #expect(session.connectRetryTimerExpired(at: .seconds(5)).isEmpty)
    }

    @Test(arguments: ["idle", "connect", "established"])
    func bfdUpElsewhereDoesNothing(state: String) {
        var session = Machine.session(in: state)
        #expect(session.bfdUp(at: .seconds(1)).isEmpty)
    }
}
