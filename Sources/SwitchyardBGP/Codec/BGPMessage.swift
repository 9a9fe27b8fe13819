/// One BGP-4 message (RFC 4271 §4).
public enum BGPMessage: Hashable, Sendable {
    case open(BGPOpen)
    case update(BGPUpdate)
    case notification(BGPNotification)
    case keepalive
    case routeRefresh(BGPRouteRefresh)

    public var type: BGPMessageType {
        switch self {
        case .open: .open
        case .update: .update
        case .notification: .notification
        case .keepalive: .keepalive
        case .routeRefresh: .routeRefresh
        }
    }
}
