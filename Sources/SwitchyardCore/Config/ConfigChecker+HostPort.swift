// HOST:PORT as the config reader has always read it, moved here unchanged with the rules;
// a shared host:port parser replaces both functions.
extension ConfigChecker {
    /// `node.metricsAddress`: a non-empty host, a colon, a port.
    static func metricsAddress(_ text: String) -> String? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              ConfigValidation.portRange.contains(port), !text[..<colon].isEmpty else { return nil }
        return text
    }

    /// `node.flowStore.address`: the host (brackets of an IPv6 literal removed) and the port.
    static func storeAddress(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              ConfigValidation.portRange.contains(port) else { return nil }
        let isBracket: (Character) -> Bool = { $0 == "[" || $0 == "]" }
        let host = text[..<colon].drop(while: isBracket).reversed().drop(while: isBracket).reversed()
        return (String(host), port)
    }
}
