import NIOCore

/// A NOTIFICATION (RFC 4271 §4.5): the last message of every session that ends on purpose.
public struct BGPNotification: Hashable, Sendable, CustomStringConvertible {
    public var code: UInt8
    public var subcode: UInt8
    public var data: [UInt8]

    public init(code: UInt8, subcode: UInt8, data: [UInt8] = []) {
        self.code = code
        self.subcode = subcode
        self.data = data
    }

    /// Error codes (RFC 4271 §4.5, RFC 2918/7313 for ROUTE-REFRESH).
    public enum Code {
        public static let messageHeader: UInt8 = 1
        public static let open: UInt8 = 2
        public static let update: UInt8 = 3
        public static let holdTimerExpired: UInt8 = 4
        public static let finiteStateMachine: UInt8 = 5
        public static let cease: UInt8 = 6
        public static let routeRefresh: UInt8 = 7
    }

    /// Message Header Error subcodes (RFC 4271 §6.1).
    public enum HeaderSubcode {
        public static let connectionNotSynchronized: UInt8 = 1
        public static let badMessageLength: UInt8 = 2
        public static let badMessageType: UInt8 = 3
    }

    /// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492 §5).
    public enum OpenSubcode {
        public static let unspecific: UInt8 = 0
        public static let unsupportedVersion: UInt8 = 1
        public static let badPeerAS: UInt8 = 2
        public static let badBGPIdentifier: UInt8 = 3
        public static let unsupportedOptionalParameter: UInt8 = 4
        public static let unacceptableHoldTime: UInt8 = 6
        public static let unsupportedCapability: UInt8 = 7
    }

    /// UPDATE Message Error subcodes (RFC 4271 §6.3).
    public enum UpdateSubcode {
        public static let malformedAttributeList: UInt8 = 1
        public static let unrecognizedWellKnownAttribute: UInt8 = 2
        public static let missingWellKnownAttribute: UInt8 = 3
        public static let attributeFlagsError: UInt8 = 4
        public static let attributeLengthError: UInt8 = 5
        public static let invalidOrigin: UInt8 = 6
        public static let invalidNextHop: UInt8 = 8
        public static let optionalAttributeError: UInt8 = 9
        public static let invalidNetworkField: UInt8 = 10
        public static let malformedASPath: UInt8 = 11
    }

    /// Finite State Machine Error subcodes (RFC 6608 §3): which state the unexpected message came in.
    public enum FSMSubcode {
        public static let unexpectedInOpenSent: UInt8 = 1
        public static let unexpectedInOpenConfirm: UInt8 = 2
        public static let unexpectedInEstablished: UInt8 = 3
    }

    /// Cease subcodes (RFC 4486 §4).
    public enum CeaseSubcode {
        public static let maximumPrefixes: UInt8 = 1
        public static let administrativeShutdown: UInt8 = 2
        public static let peerDeconfigured: UInt8 = 3
        public static let administrativeReset: UInt8 = 4
        public static let connectionRejected: UInt8 = 5
        public static let otherConfigurationChange: UInt8 = 6
        public static let connectionCollisionResolution: UInt8 = 7
        public static let outOfResources: UInt8 = 8
        /// RFC 9384: BFD declared the peer down (RFC 5882 §4.3).
        public static let bfdDown: UInt8 = 10
    }

    /// ROUTE-REFRESH Message Error subcodes (RFC 7313 §5).
    public enum RouteRefreshSubcode {
        public static let invalidMessageLength: UInt8 = 1
    }

    /// A Cease, with the RFC 9003 shutdown communication for administrative shutdown and reset:
    /// a length octet and UTF-8 text, cut at a character boundary to fit 255 octets.
    public static func cease(subcode: UInt8, shutdownCommunication text: String? = nil) -> BGPNotification {
        guard let text, subcode == CeaseSubcode.administrativeShutdown || subcode == CeaseSubcode.administrativeReset
        else { return BGPNotification(code: Code.cease, subcode: subcode) }
        var bytes: [UInt8] = []
        for character in text {
            let utf8 = Array(String(character).utf8)
            guard bytes.count + utf8.count <= BGPWire.maxShutdownCommunicationLength else { break }
            bytes += utf8
        }
        return BGPNotification(code: Code.cease, subcode: subcode, data: [UInt8(bytes.count)] + bytes)
    }

    /// The RFC 9003 shutdown communication of an administrative shutdown or reset, or nil when
    /// there is none or it is malformed (RFC 9003 §3: a bad one is logged as such, never trusted).
    public var shutdownCommunication: String? {
        guard code == Code.cease,
            subcode == CeaseSubcode.administrativeShutdown || subcode == CeaseSubcode.administrativeReset,
            let length = data.first, length > 0, Int(length) <= data.count - 1
        else { return nil }
        let text = data[1...Int(length)]
        return String(validating: text, as: UTF8.self)
    }

    public var description: String {
        var text = "NOTIFICATION \(code)/\(subcode)"
        if let shutdown = shutdownCommunication {
            text += " \"\(shutdown)\""
        } else if !data.isEmpty {
            text += " data \(data.prefix(16).map { String($0, radix: 16) }.joined(separator: " "))"
        }
        return text
    }
}

extension BGPNotification {
    /// Reads the body after the header (exactly `body`); never fails: code and subcode are all a
    /// NOTIFICATION needs, and the framing already guaranteed them.
    static func read(body: inout ByteBuffer) -> BGPNotification? {
        guard let code = body.readInteger(as: UInt8.self), let subcode = body.readInteger(as: UInt8.self) else {
            return nil
        }
        let data = body.readBytes(length: body.readableBytes) ?? []
        return BGPNotification(code: code, subcode: subcode, data: data)
    }

    func write(into buffer: inout ByteBuffer) {
        buffer.writeInteger(code)
        buffer.writeInteger(subcode)
        buffer.writeBytes(data)
    }
}
