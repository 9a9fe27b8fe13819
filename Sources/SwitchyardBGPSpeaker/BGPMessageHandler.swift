import NIOCore
import SwitchyardBGP

/// Framing: bytes in, whole messages out to the peer, one at a time, each decoded with the
/// session's codec context as it stands after the previous one (the OPEN exchange changes it).
/// A short read consumes nothing and waits for more (`BGPMessage.read`).
final class BGPMessageHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let peer: BGPPeer
    private var pending: ByteBuffer?

    init(peer: BGPPeer) {
        self.peer = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if pending == nil {
            pending = bytes
        } else {
            pending?.writeBuffer(&bytes)
        }
        guard var buffer = pending else { return }
        pending = nil
        let channel = context.channel
        while peer.isCurrent(channel) {
            do {
                guard let message = try BGPMessage.read(from: &buffer, context: peer.codecContext) else { break }
                peer.received(message, on: channel)
            } catch {
                peer.decodeFailed(error, on: channel)
                return
            }
        }
        buffer.discardReadBytes()
        pending = buffer.readableBytes > 0 ? buffer : nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer.connectionClosed(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
