/// Reading back the text forms `ServiceKey` and `BackendIdentity` print (`10.0.0.1:80/tcp`,
/// `[2001:db8::1]:80/udp`, `10.1.0.1:8080`). Used where those forms were stored, e.g. an id
/// allocation saved by an earlier agent; anything malformed is nil, never a trap.
extension BackendIdentity {
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            return nil
        }
        var host = Substring(text[..<colon])
        if host.hasPrefix("[") {
            guard host.hasSuffix("]") else { return nil }
            host = host.dropFirst().dropLast()
            guard let address = IPAddress(String(host)), address.family == .v6 else { return nil }
            self.init(address: address, port: port)
        } else {
            guard let address = IPAddress(String(host)), address.family == .v4 else { return nil }
            self.init(address: address, port: port)
        }
    }
}

extension ServiceKey {
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        guard let slash = text.lastIndex(of: "/"),
            let proto = L4Protocol(name: String(text[text.index(after: slash)...])),
            let endpoint = BackendIdentity(text[..<slash])
        else { return nil }
        self.init(vip: endpoint.address, port: endpoint.port, proto: proto)
    }
}
