import NIOCore

extension BGPMessage {
    /// One message from the front of `buffer`, or nil (nothing consumed) when it has not fully
    /// arrived. A header is judged as soon as its 19 octets are in, so a bad marker or length is
    /// reported without waiting for a body that may never come. Throws only
    /// `BGPDecodeError.resetSession`: the NOTIFICATION to send before closing.
    public static func read(from buffer: inout ByteBuffer, context: BGPCodecContext) throws(BGPDecodeError)
        -> BGPMessage?
    {
        guard buffer.readableBytes >= BGPWire.headerLength else { return nil }
        let start = buffer.readerIndex
        // RFC 4271 §6.1: a marker that is not all ones means we lost the framing.
        for offset in 0..<BGPWire.markerLength where buffer.getInteger(at: start + offset, as: UInt8.self) != 0xff {
            throw .reset(BGPNotification.Code.messageHeader, BGPNotification.HeaderSubcode.connectionNotSynchronized)
        }
        guard let length = buffer.getInteger(at: start + BGPWire.markerLength, as: UInt16.self),
            let rawType = buffer.getInteger(at: start + BGPWire.markerLength + 2, as: UInt8.self)
        else { return nil }
        // RFC 4271 §6.1: the data of a Bad Message Length is the length field, of a Bad Message
        // Type the type field.
        let badLength = BGPDecodeError.reset(
            BGPNotification.Code.messageHeader,
            BGPNotification.HeaderSubcode.badMessageLength,
            data: [UInt8(length >> 8), UInt8(truncatingIfNeeded: length)])
        guard (BGPWire.headerLength...BGPWire.maxMessageLength).contains(Int(length)) else { throw badLength }
        guard let type = BGPMessageType(rawValue: rawType) else {
            throw .reset(
                BGPNotification.Code.messageHeader, BGPNotification.HeaderSubcode.badMessageType,
                data: [rawType])
        }
        let validLength =
            switch type {
            case .open: Int(length) >= BGPWire.minOpenLength
            case .update: Int(length) >= BGPWire.minUpdateLength
            case .notification: Int(length) >= BGPWire.minNotificationLength
            case .keepalive: Int(length) == BGPWire.keepaliveLength
            case .routeRefresh: true
            }
        guard validLength else { throw badLength }
        guard buffer.readableBytes >= Int(length),
            var body = buffer.getSlice(at: start + BGPWire.headerLength, length: Int(length) - BGPWire.headerLength)
        else { return nil }

        let message: BGPMessage
        switch type {
        case .open:
            message = .open(try BGPOpen.read(body: &body))
        case .update:
            message = .update(try BGPUpdate.read(body: &body, context: context))
        case .notification:
            guard let notification = BGPNotification.read(body: &body) else { throw badLength }
            message = .notification(notification)
        case .keepalive:
            message = .keepalive
        case .routeRefresh:
            // RFC 7313 §5: a ROUTE-REFRESH of the wrong length is answered with its own error code,
            // carrying the whole message.
            guard Int(length) == BGPWire.routeRefreshLength, let refresh = BGPRouteRefresh.read(body: &body) else {
                throw .reset(
                    BGPNotification.Code.routeRefresh,
                    BGPNotification.RouteRefreshSubcode.invalidMessageLength,
                    data: buffer.getBytes(at: start, length: Int(length)) ?? [])
            }
            message = .routeRefresh(refresh)
        }
        buffer.moveReaderIndex(forwardBy: Int(length))
        return message
    }

    /// Appends the whole message, header included. The caller keeps UPDATEs within
    /// `BGPWire.maxMessageLength` (the route diff packs to it); this writes what it is given.
    public func write(into buffer: inout ByteBuffer, context: BGPCodecContext) {
        let start = buffer.writerIndex
        buffer.writeRepeatingByte(BGPWire.markerByte, count: BGPWire.markerLength)
        buffer.writeInteger(UInt16(0))
        buffer.writeInteger(type.rawValue)
        switch self {
        case .open(let open): open.write(into: &buffer)
        case .update(let update): update.write(into: &buffer, context: context)
        case .notification(let notification): notification.write(into: &buffer)
        case .keepalive: break
        case .routeRefresh(let refresh): refresh.write(into: &buffer)
        }
        buffer.setInteger(UInt16(truncatingIfNeeded: buffer.writerIndex - start), at: start + BGPWire.markerLength)
    }

    /// Octets the message takes on the wire.
    public func encodedLength(context: BGPCodecContext) -> Int {
        var buffer = ByteBuffer()
        write(into: &buffer, context: context)
        return buffer.readableBytes
    }
}
