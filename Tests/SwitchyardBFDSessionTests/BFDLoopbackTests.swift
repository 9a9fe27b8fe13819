import CSwitchyardUDP
import Logging
import NIOCore
import SwitchyardBFD
import SwitchyardBFDSession
import SwitchyardCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The executor against itself on loopback (127.0.0.2 and 127.0.0.3 are ours on Linux without
/// configuration): two sessions come Up, a stop is seen as the peer's AdminDown, and a packet
/// that crossed a router (TTL 254) is discarded by RFC 5881 §5.
@Suite(.serialized) struct BFDLoopbackTests {
    static let a = IPAddress("127.0.0.2")!
    static let b = IPAddress("127.0.0.3")!

    static func waitFor(
        _ state: BFDState, on session: BFDSession, within timeout: Duration = .seconds(5)
    ) async throws -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if try await session.status().state == state { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await session.status().state == state
    }

    @Test func twoSessionsComeUpAndAStopIsSeenAsAdminDown() async throws {
        let service = BFDService(logger: Logger(label: "bfd-loopback"))
        let first = try service.start(BFDPeerConfiguration(localAddress: Self.a, peerAddress: Self.b))
        let second = try service.start(BFDPeerConfiguration(localAddress: Self.b, peerAddress: Self.a))
        #expect(try await Self.waitFor(.up, on: first))
        #expect(try await Self.waitFor(.up, on: second))
        let up = try await first.status()
        #expect(up.remoteDiscriminator == second.localDiscriminator)
        #expect(up.transmitInterval == .milliseconds(300))
        #expect(up.detectionTime == .milliseconds(900))
        await first.stop()
        #expect(try await Self.waitFor(.down, on: second, within: .seconds(2)))
        let seen = try await second.status()
        #expect(seen.remoteState == .adminDown)
        #expect(seen.localDiagnostic == .neighborSignaledSessionDown)
        #expect(seen.remoteDiagnostic == .administrativelyDown)
        var changes: [BFDStateChange] = []
        for await change in first.stateChanges { changes.append(change) }
        #expect(changes.map(\.to) == [.`init`, .up, .adminDown] || changes.map(\.to) == [.up, .adminDown])
        await service.shutdown()
    }

    @Test func aPacketBelowTTL255IsDiscarded() async throws {
        let service = BFDService(logger: Logger(label: "bfd-loopback"))
        let session = try service.start(BFDPeerConfiguration(localAddress: Self.a, peerAddress: Self.b))
        let fd = switchyard_udp_open(AF_INET, Self.b.bytes, 0, 254, 0)
        #expect(fd >= 0)
        defer { if fd >= 0 { close(fd) } }
        var buffer = ByteBuffer()
        BFDControlPacket(
            state: .down, detectMultiplier: 3, myDiscriminator: 7, yourDiscriminator: 0,
            desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 300_000
        ).write(into: &buffer)
        let bytes = Array(buffer.readableBytesView)
        #expect(switchyard_udp_send(fd, AF_INET, Self.a.bytes, BFDWire.controlPort, bytes, bytes.count) == 0)
        let clock = ContinuousClock()
        let end = clock.now + .seconds(3)
        while clock.now < end, try await session.status().discarded[.ttlBelow255] == nil {
            try await Task.sleep(for: .milliseconds(20))
        }
        let status = try await session.status()
        #expect(status.discarded[.ttlBelow255] == 1)
        #expect(status.packetsReceived == 0)
        #expect(status.state == .down)
        await service.shutdown()
    }
}
