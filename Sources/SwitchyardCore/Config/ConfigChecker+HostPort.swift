// HOST:PORT settings, read by the one parser of such text (`HostPort`): IPv4, bracketed IPv6,
// or a DNS name, and a port from 1 to 65535.
extension ConfigChecker {
    /// `node.metricsAddress`, kept as written (the metrics server parses it the same way).
    static func metricsAddress(_ text: String) -> String? {
        HostPort(text) != nil ? text : nil
    }

    /// `node.flowStore.address`: the host (an IPv6 literal without its brackets) and the port.
    static func storeAddress(_ text: String) -> (host: String, port: Int)? {
        HostPort(text).map { ($0.host.description, Int($0.port)) }
    }
}
