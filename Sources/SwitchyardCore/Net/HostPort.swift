/// A TCP endpoint as an operator writes it: `host:port`, where the host is an IPv4 address, a
/// bracketed IPv6 address (`[2001:db8::1]:6379`, RFC 3986 §3.2.2) or a DNS name. The one parser
/// of such text in the tree, so every address setting accepts and rejects the same things.
///
/// `description` writes the form `init(parsing:)` reads back: IPv6 in brackets, canonical.
public struct HostPort: Hashable, Sendable, CustomStringConvertible {
    public enum Host: Hashable, Sendable, CustomStringConvertible {
        case address(IPAddress)
        /// A DNS name, resolved when connecting (RFC 1123 §2.1 letters, digits, hyphens; `_`
        /// too, as container and service names use it).
        case name(String)

        /// The host as a socket API takes it: no brackets.
        public var description: String {
            switch self {
            case .address(let address): address.description
            case .name(let name): name
            }
        }
    }

    public let host: Host
    public let port: UInt16

    /// A name longer than this cannot be resolved (RFC 1035 §2.3.4).
    public static let maxNameLength = 253
    /// Nor can a label longer than this (RFC 1035 §2.3.4).
    public static let maxLabelLength = 63

    /// Why a text is not a `host:port`, phrased as what to write instead.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case missingPort(String)
        case unbracketedIPv6(String)
        case invalidPort(String)
        case emptyHost(String)
        case invalidHost(String)

        public var description: String {
            switch self {
            case .missingPort(let text):
                "'\(text)' has no port: write HOST:PORT, e.g. 127.0.0.1:6379 or [::1]:6379"
            case .unbracketedIPv6(let text):
                "'\(text)' is an IPv6 address without brackets: write [ADDRESS]:PORT, e.g. [2001:db8::1]:6379"
            case .invalidPort(let text):
                "'\(text)': the port must be a number from 1 to 65535"
            case .emptyHost(let text):
                "'\(text)' has no host: write HOST:PORT, e.g. 127.0.0.1:6379"
            case .invalidHost(let text):
                "'\(text)': the host must be an IPv4 address, a bracketed IPv6 address or a DNS name"
            }
        }
    }

    /// From a host and port held apart (a settings struct): the host is an address (IPv6 without
    /// brackets) or a name.
    public init(host: String, port: Int) throws(ParseError) {
        let text = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        guard !host.isEmpty else { throw .emptyHost(text) }
        guard let port = UInt16(exactly: port), port != 0 else { throw .invalidPort(text) }
        if let address = IPAddress(host) {
            self.host = .address(address)
        } else if Self.isName(host) {
            self.host = .name(host)
        } else {
            throw .invalidHost(text)
        }
        self.port = port
    }

    /// Parses `host:port`, `[v6]:port`, `v4:port` or `name:port`.
    public init(parsing text: String) throws(ParseError) {
        let hostText: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .invalidHost(text) }
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":") else { throw after.isEmpty ? .missingPort(text) : .invalidHost(text) }
            hostText = text[text.index(after: text.startIndex)..<close]
            portText = after.dropFirst()
            guard !hostText.isEmpty else { throw .emptyHost(text) }
            guard hostText.contains(":"), let v6 = IPv6Address(hostText) else { throw .invalidHost(text) }
            self.host = .address(.v6(v6))
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .missingPort(text) }
            hostText = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !hostText.contains(":") else { throw .unbracketedIPv6(text) }
            guard !hostText.isEmpty else { throw .emptyHost(text) }
            if let v4 = IPv4Address(hostText) {
                self.host = .address(.v4(v4))
            } else if Self.isName(hostText) {
                self.host = .name(String(hostText))
            } else {
                throw .invalidHost(text)
            }
        }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy(\.isASCIIDigit),
            let port = UInt16(portText), port != 0
        else { throw .invalidPort(text) }
        self.port = port
    }

    /// Nil when `text` is not a `host:port`; `init(parsing:)` says why.
    public init?(_ text: String) {
        guard let parsed = try? HostPort(parsing: text) else { return nil }
        self = parsed
    }

    public var description: String {
        switch host {
        case .address(.v6(let v6)): "[\(v6)]:\(port)"
        default: "\(host):\(port)"
        }
    }

    /// Dot-separated labels of letters, digits, `-` and `_`, no label starting or ending with
    /// `-`, and a last label that is not all digits (RFC 3696 §2: that would read as an
    /// address, so `1.2.3:80` is a mistyped address, not a name).
    static func isName(_ text: some StringProtocol) -> Bool {
        guard !text.isEmpty, text.utf8.count <= maxNameLength else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            guard !label.isEmpty, label.utf8.count <= maxLabelLength, !label.hasPrefix("-"), !label.hasSuffix("-"),
                label.allSatisfy({ $0.isASCIILetter || $0.isASCIIDigit || $0 == "-" || $0 == "_" })
            else {
                return false
            }
        }
        return !(labels.last?.allSatisfy(\.isASCIIDigit) ?? true)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
    fileprivate var isASCIILetter: Bool { isASCII && isLetter }
}
