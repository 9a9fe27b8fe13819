import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwitchyardBFD
import SwitchyardCore
import SwitchyardNet

/// BFD for the agent process (RFC 5880 asynchronous mode, RFC 5881 single hop): one session per
/// peer, each executing its `BFDSessionStateMachine` on an event loop, all sessions on one local
/// address sharing one receiving socket. Running in the agent means a hung agent stops sending
/// and the router notices within a detection time (issue 12).
///
/// Received packets are matched to sessions as RFC 5880 §6.3 says: by Your Discriminator, or,
/// while that is zero, by the source address on the receiving address.
public final class BFDService: Sendable {
    private let group: any EventLoopGroup
    private let logger: Logger
    private let clock = ExecutorClock()
    private let registry = NIOLockedValueBox(Registry())

    struct Registry {
        var receivers: [BFDReceiver.Key: BFDReceiver] = [:]
        var byDiscriminator: [UInt32: BFDSession] = [:]
        var byPeer: [BFDReceiver.Key: [IPAddress: BFDSession]] = [:]
        /// Discards no session could be blamed for.
        var unmatched: [BFDDiscardReason: Int] = [:]
    }

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) {
        self.group = group
        self.logger = logger
    }

    /// Opens the sockets and starts a session in Down; it comes Up when the peer answers.
    /// `onChange` is called on the session's event loop for every state change, before the change
    /// is yielded to `stateChanges`. Throws when a socket cannot be opened, or when a session to
    /// that peer from that address already runs (`.sessionExists`).
    public func start(
        _ peer: BFDPeerConfiguration, onChange: (@Sendable (BFDStateChange) -> Void)? = nil
    ) throws(BFDSocketError) -> BFDSession {
        guard peer.localAddress.family == peer.peerAddress.family else {
            throw BFDSocketError(.addressFamilyMismatch, errno: EINVAL)
        }
        let key = BFDReceiver.Key(namespacePath: peer.networkNamespacePath, localAddress: peer.localAddress)
        let sender = try BFDSocket.openSender(
            local: peer.localAddress, namespacePath: peer.networkNamespacePath, random: .random(in: 0...UInt16.max))
        let opened = registry.withLockedValue { table -> Result<BFDSession, BFDSocketError> in
            guard table.byPeer[key]?[peer.peerAddress] == nil else {
                return .failure(BFDSocketError(.sessionExists, errno: EEXIST))
            }
            var receiverToStart: BFDReceiver?
            if table.receivers[key] == nil {
                do throws(BFDSocketError) {
                    let receiver = try BFDReceiver(key: key)
                    table.receivers[key] = receiver
                    receiverToStart = receiver
                } catch {
                    return .failure(error)
                }
            }
            var discriminator = UInt32.random(in: 1...UInt32.max)
            while table.byDiscriminator[discriminator] != nil { discriminator = .random(in: 1...UInt32.max) }
            let session = BFDSession(
                peer: peer, key: key, localDiscriminator: discriminator, sendSocket: sender,
                eventLoop: group.next(), clock: clock, logger: logger, onChange: onChange,
                finished: { [registry] session in Self.remove(session, from: registry) })
            table.byDiscriminator[discriminator] = session
            table.byPeer[key, default: [:]][peer.peerAddress] = session
            receiverToStart?.start { [registry] datagram in Self.dispatch(datagram, on: key, registry: registry) }
            return .success(session)
        }
        let session: BFDSession
        switch opened {
        case .success(let started): session = started
        case .failure(let error):
            BFDSocket.discard(sender)
            throw error
        }
        session.eventLoop.execute { session.start() }
        return session
    }

    /// Every session's status, ordered by peer address.
    public func status() async -> [BFDSessionStatus] {
        let sessions = registry.withLockedValue { Array($0.byDiscriminator.values) }
        var result: [BFDSessionStatus] = []
        for session in sessions { if let status = try? await session.status() { result.append(status) } }
        return result.sorted {
            ($0.peer.peerAddress, $0.peer.localAddress) < ($1.peer.peerAddress, $1.peer.localAddress)
        }
    }

    /// Packets discarded before any session could be chosen (bad header, unknown discriminator
    /// from an address we run no session with).
    public var unmatchedDiscards: [BFDDiscardReason: Int] {
        registry.withLockedValue { $0.unmatched }
    }

    /// Stops every session (each sends AdminDown, §6.8.16) and closes every socket.
    public func shutdown() async {
        let sessions = registry.withLockedValue { Array($0.byDiscriminator.values) }
        await withTaskGroup(of: Void.self) { group in
            for session in sessions { group.addTask { await session.stop() } }
        }
        let receivers = registry.withLockedValue { registry in
            defer { registry.receivers = [:] }
            return Array(registry.receivers.values)
        }
        for receiver in receivers { await receiver.stop() }
    }

    // MARK: - Demultiplexing (on a receiver's thread)

    /// RFC 5881 §5 first (a packet that crossed a router is nobody's), then the codec's checks,
    /// then the session: by Your Discriminator when set, else by the source address.
    static func dispatch(
        _ datagram: BFDSocket.Datagram, on key: BFDReceiver.Key, registry: NIOLockedValueBox<Registry>
    ) {
        let bySource = datagram.source.flatMap { source in
            registry.withLockedValue { $0.byPeer[key]?[source] }
        }
        func discard(_ reason: BFDDiscardReason) {
            if let bySource {
                bySource.countDiscard(reason)
            } else {
                registry.withLockedValue { $0.unmatched[reason, default: 0] += 1 }
            }
        }
        guard datagram.ttl == BFDWire.requiredTTL else { return discard(.ttlBelow255) }
        let packet: BFDControlPacket
        do {
            packet = try BFDControlPacket(datagram: ByteBuffer(bytes: datagram.payload))
        } catch {
            return discard(error)
        }
        let session =
            packet.yourDiscriminator == 0
            ? bySource
            : registry.withLockedValue { $0.byDiscriminator[packet.yourDiscriminator] }
        guard let session, session.key == key else { return discard(.noSession) }
        session.deliver(packet)
    }

    private static func remove(_ session: BFDSession, from registry: NIOLockedValueBox<Registry>) {
        let idle: BFDReceiver? = registry.withLockedValue { registry in
            registry.byDiscriminator[session.localDiscriminator] = nil
            registry.byPeer[session.key]?[session.peer.peerAddress] = nil
            guard registry.byPeer[session.key]?.isEmpty ?? true else { return nil }
            registry.byPeer[session.key] = nil
            return registry.receivers.removeValue(forKey: session.key)
        }
        if let idle { Task { await idle.stop() } }
    }
}
