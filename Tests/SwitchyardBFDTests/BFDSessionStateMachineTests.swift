import Testing

@testable import SwitchyardBFD

/// The session driven by a manual clock: time is whatever the test says, randomness is a number
/// the test picks, and no test sleeps.
@Suite struct BFDSessionStateMachineTests {
    static let local: UInt32 = 0x1111
    static let remote: UInt32 = 0x2222
    static let fast = Duration.milliseconds(300)

    static func machine(interval: Duration = fast, multiplier: UInt8 = 3) -> BFDSessionStateMachine {
        BFDSessionStateMachine(
            configuration: BFDSessionConfiguration(
                localDiscriminator: local, interval: interval, multiplier: multiplier))
    }

    /// What the peer sends: its discriminator, ours once it has heard us, 300 ms both ways.
    static func peer(
        _ state: BFDState, yours: UInt32 = local, poll: Bool = false, final: Bool = false,
        diagnostic: BFDDiagnostic = .none, interval: UInt32 = 300_000, multiplier: UInt8 = 3
    ) -> BFDControlPacket {
        BFDControlPacket(
            diagnostic: diagnostic, state: state, poll: poll, final: final, detectMultiplier: multiplier,
            myDiscriminator: remote, yourDiscriminator: yours, desiredMinTxInterval: interval,
            requiredMinRxInterval: interval)
    }

    static func sent(_ actions: [BFDSessionAction]) -> [BFDControlPacket] {
        actions.compactMap { if case .send(let packet) = $0 { packet } else { nil } }
    }

    static func changes(_ actions: [BFDSessionAction]) -> [BFDStateChange] {
        actions.compactMap { if case .stateChanged(let change) = $0 { change } else { nil } }
    }

    static func deadline(_ kind: BFDTimerKind, _ actions: [BFDSessionAction]) -> Duration? {
        actions.compactMap { action -> Duration? in
            if case .armTimer(kind, let at) = action { at } else { nil }
        }.last
    }

    /// Down → Init → Up by the three-way handshake of §6.2, the Poll for the fast rate answered.
    static func upSession(at now: Duration = .seconds(10)) -> BFDSessionStateMachine {
        var session = machine()
        _ = session.start(at: .zero, random: 1)
        _ = session.received(peer(.down, yours: 0), at: now, random: 1)
        _ = session.received(peer(.up), at: now, random: 1)
        _ = session.received(peer(.up, final: true), at: now, random: 1)
        return session
    }

    @Test func startSendsDownAtTheSlowRate() {
        var session = Self.machine()
        let actions = session.start(at: .zero, random: 1)
        let packet = Self.sent(actions).first
        #expect(packet?.state == .down)
        #expect(packet?.myDiscriminator == Self.local)
        #expect(packet?.yourDiscriminator == 0)
        // §6.8.3: at least 1 s while not Up, whatever is configured.
        #expect(packet?.desiredMinTxInterval == 1_000_000)
        #expect(packet?.requiredMinRxInterval == 300_000)
        #expect(Self.deadline(.transmit, actions) == .seconds(1))
    }

    @Test func threeWayHandshakeFromDownReachesUp() {
        var session = Self.machine()
        _ = session.start(at: .zero, random: 1)
        let heard = session.received(Self.peer(.down, yours: 0), at: .milliseconds(100), random: 1)
        #expect(Self.changes(heard) == [BFDStateChange(from: .down, to: .`init`, diagnostic: .none)])
        #expect(Self.sent(heard).last?.yourDiscriminator == Self.remote)
        let up = session.received(Self.peer(.up), at: .milliseconds(200), random: 1)
        #expect(Self.changes(up) == [BFDStateChange(from: .`init`, to: .up, diagnostic: .none, peerState: .up)])
        #expect(session.state == .up)
    }

    @Test func downPeerSayingInitTakesUsStraightUp() {
        var session = Self.machine()
        _ = session.start(at: .zero, random: 1)
        let actions = session.received(Self.peer(.`init`), at: .milliseconds(100), random: 1)
        #expect(Self.changes(actions).map(\.to) == [.up])
    }

    /// Going Up lowers Desired Min TX from 1 s to 300 ms by a Poll Sequence (§6.8.3); the faster
    /// pace may start at once, and the Poll ends with the peer's Final.
    @Test func goingUpPollsForTheFastRate() {
        var session = Self.machine()
        _ = session.start(at: .zero, random: 1)
        _ = session.received(Self.peer(.down, yours: 0), at: .seconds(1), random: 1)
        let up = session.received(Self.peer(.up), at: .seconds(2), random: 1)
        let announced = Self.sent(up).last
        #expect(announced?.state == .up)
        #expect(announced?.poll == true)
        #expect(announced?.desiredMinTxInterval == 300_000)
        #expect(session.pollActive)
        #expect(session.transmitInterval == .milliseconds(300))
        #expect(Self.deadline(.transmit, up) == .seconds(2) + .milliseconds(300))
        let periodic = session.transmitTimerExpired(at: .seconds(2) + .milliseconds(300), random: 1)
        #expect(Self.sent(periodic).first?.poll == true, "P until the Final arrives")
        _ = session.received(Self.peer(.up, final: true), at: .seconds(2) + .milliseconds(400), random: 1)
        #expect(!session.pollActive)
        let after = session.transmitTimerExpired(at: .seconds(2) + .milliseconds(600), random: 1)
        #expect(Self.sent(after).first?.poll == false)
    }

    @Test func pollFromThePeerIsAnsweredAtOnceWithFinalAndNoPoll() {
        var session = Self.upSession()
        let actions = session.received(Self.peer(.up, poll: true), at: .seconds(11), random: 1)
        let answer = Self.sent(actions)
        #expect(answer.count == 1)
        #expect(answer.first?.final == true)
        #expect(answer.first?.poll == false)
    }

    /// §6.8.4: Detect Mult of the peer × max(our Required Min RX, its Desired Min TX).
    @Test func detectionTimeUsesThePeersMultiplierAndTheSlowerInterval() {
        var session = Self.upSession()
        let actions = session.received(
            Self.peer(.up, interval: 500_000, multiplier: 4), at: .seconds(20), random: 1)
        #expect(session.detectionTime == .milliseconds(2000))
        #expect(Self.deadline(.detection, actions) == .seconds(22))
    }

    @Test func silenceForADetectionTimeTakesTheSessionDown() {
        var session = Self.upSession(at: .seconds(10))
        #expect(session.detectionTime == .milliseconds(900))
        #expect(session.detectionTimerExpired(at: .seconds(10) + .milliseconds(899), random: 1).isEmpty)
        let actions = session.detectionTimerExpired(at: .seconds(10) + .milliseconds(900), random: 1)
        #expect(
            Self.changes(actions)
                == [BFDStateChange(from: .up, to: .down, diagnostic: .controlDetectionTimeExpired, peerState: .up)])
        #expect(Self.changes(actions).first?.isPathLoss == true)
        #expect(Self.sent(actions).first?.diagnostic == .controlDetectionTimeExpired)
        #expect(Self.sent(actions).first?.desiredMinTxInterval == 1_000_000, "back to the slow rate")
        #expect(session.remoteDiscriminator == 0, "§6.8.1: a silent peer's discriminator is forgotten")
        #expect(session.transmitInterval == .seconds(1))
    }

    @Test func aPacketBeforeTheDeadlinePushesDetectionBack() {
        var session = Self.upSession(at: .seconds(10))
        _ = session.received(Self.peer(.up), at: .seconds(10) + .milliseconds(600), random: 1)
        #expect(session.detectionTimerExpired(at: .seconds(10) + .milliseconds(900), random: 1).isEmpty)
        #expect(session.state == .up)
    }

    @Test(arguments: [BFDState.down, .adminDown])
    func peerSignallingDownTakesUsDown(remote: BFDState) {
        var session = Self.upSession()
        let actions = session.received(
            Self.peer(remote, diagnostic: .administrativelyDown), at: .seconds(11), random: 1)
        #expect(
            Self.changes(actions)
                == [BFDStateChange(from: .up, to: .down, diagnostic: .neighborSignaledSessionDown, peerState: remote)])
        // RFC 5882 §3.2: the peer turning BFD off is not a path failure.
        #expect(Self.changes(actions).first?.isPathLoss == (remote == .down))
        #expect(session.remoteDiagnostic == .administrativelyDown)
    }

    @Test func adminDownFromThePeerWhileDownChangesNothing() {
        var session = Self.machine()
        _ = session.start(at: .zero, random: 1)
        #expect(Self.changes(session.received(Self.peer(.adminDown, yours: 0), at: .seconds(1), random: 1)).isEmpty)
        #expect(session.state == .down)
    }

    /// §6.8.16: AdminDown with its diagnostic, at once and for Detect Mult more intervals at the
    /// pace the peer expects, then finished; nothing received is believed meanwhile.
    @Test func stopSendsAdminDownForADetectionTimeThenFinishes() {
        var session = Self.upSession(at: .seconds(10))
        let stop = session.stop(at: .seconds(11), random: 1)
        #expect(
            Self.changes(stop)
                == [BFDStateChange(from: .up, to: .adminDown, diagnostic: .administrativelyDown, peerState: .up)])
        #expect(Self.changes(stop).first?.isPathLoss == false)
        #expect(stop.contains(.cancelTimer(.detection)))
        #expect(Self.sent(stop).first?.state == .adminDown)
        #expect(Self.sent(stop).first?.diagnostic == .administrativelyDown)
        #expect(session.received(Self.peer(.up), at: .seconds(11), random: 1) == [.discarded(.localAdminDown)])
        var now = Duration.seconds(11)
        var packets = Self.sent(stop).count
        var finished = false
        var deadline = Self.deadline(.transmit, stop)
        while let due = deadline, !finished {
            #expect(due - now == .milliseconds(300))
            now = due
            let actions = session.transmitTimerExpired(at: now, random: 1)
            packets += Self.sent(actions).count
            finished = actions.contains(.finished)
            deadline = Self.deadline(.transmit, actions)
        }
        #expect(finished)
        #expect(packets == 4)
    }

    /// §6.8.7: 75–100 % of the interval; at most 90 % with Detect Mult 1.
    @Test(arguments: [(UInt8(3), 0.0, 750), (3, 1.0, 1000), (3, 0.5, 875), (1, 1.0, 900), (1, 0.0, 750)])
    func jitterStaysInsideItsBand(multiplier: UInt8, random: Double, milliseconds: Int64) {
        var session = Self.machine(interval: .seconds(1), multiplier: multiplier)
        let actions = session.start(at: .zero, random: random)
        #expect(Self.deadline(.transmit, actions) == .milliseconds(milliseconds))
    }

    @Test func thePeersSlowerReceiveRateGovernsOurPace() {
        var session = Self.upSession()
        _ = session.received(
            BFDControlPacket(
                state: .up, detectMultiplier: 3, myDiscriminator: Self.remote, yourDiscriminator: Self.local,
                desiredMinTxInterval: 300_000, requiredMinRxInterval: 2_000_000),
            at: .seconds(11), random: 1)
        #expect(session.transmitInterval == .seconds(2))
    }

    @Test func aPeerAskingForNoPacketsGetsNone() {
        var session = Self.upSession()
        let actions = session.received(
            BFDControlPacket(
                state: .up, detectMultiplier: 3, myDiscriminator: Self.remote, yourDiscriminator: Self.local,
                desiredMinTxInterval: 300_000, requiredMinRxInterval: 0),
            at: .seconds(11), random: 1)
        #expect(Self.deadline(.transmit, actions) == nil)
        #expect(actions.contains(.cancelTimer(.transmit)))
        #expect(session.transmitTimerExpired(at: .seconds(12), random: 1).isEmpty)
    }

    /// §6.8.3: a slower Desired Min TX while Up keeps the old pace until the Final; a faster
    /// Required Min RX keeps the old detection time until then.
    @Test func parameterChangeWhileUpWaitsForTheFinal() {
        var session = Self.upSession()
        let change = session.changeParameters(
            desiredMinTxInterval: .milliseconds(500), requiredMinRxInterval: .milliseconds(100),
            detectMultiplier: 3, at: .seconds(11), random: 1)
        #expect(change.isEmpty, "announced by the next periodic packet")
        #expect(session.pollActive)
        #expect(session.transmitInterval == .milliseconds(300))
        let periodic = session.transmitTimerExpired(at: .seconds(11), random: 1)
        #expect(Self.sent(periodic).first?.poll == true)
        #expect(Self.sent(periodic).first?.desiredMinTxInterval == 500_000)
        #expect(Self.sent(periodic).first?.requiredMinRxInterval == 100_000)
        _ = session.received(Self.peer(.up, final: true, interval: 100_000), at: .seconds(11), random: 1)
        #expect(session.transmitInterval == .milliseconds(500))
        #expect(session.detectionTime == .milliseconds(300), "3 × max(100 ms, 100 ms) once the Poll completed")
    }

    @Test func staleAndEarlyTimerFiringsAreIgnored() {
        var session = Self.machine()
        _ = session.start(at: .zero, random: 1)
        #expect(session.transmitTimerExpired(at: .milliseconds(999), random: 1).isEmpty)
        #expect(session.detectionTimerExpired(at: .seconds(5), random: 1).isEmpty, "never armed")
        #expect(!session.transmitTimerExpired(at: .seconds(1), random: 1).isEmpty)
    }

    @Test func nothingIsReceivedBeforeStart() {
        var session = Self.machine()
        #expect(session.received(Self.peer(.down, yours: 0), at: .zero, random: 1) == [.discarded(.noSession)])
    }
}
