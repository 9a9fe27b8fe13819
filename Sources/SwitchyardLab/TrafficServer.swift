import Foundation
import NIOCore
import NIOPosix
import SwitchyardNet

/// The lab's backend server, on [::]:port (both families). Line protocol: each `PING n` is
/// answered `PONG n NAME`, so the client knows which backend holds each connection; `WHO` is
/// answered `YOU ADDRESS NAME` with the client address the server sees (DSR keeps the client's
/// own; a proxy would show its). HTTP:
/// `GET /` answers the backend's name, `GET /bytes/N` N bytes (bulk, for the DSR proof).
public struct TrafficServer: Sendable {
    public let name: String
    public let port: Int

    public init(name: String, port: Int) {
        self.name = name
        self.port = port
    }

    public func run() async throws {
        try await ConnectionServer.run(.tcp(host: "::", port: port), handler: serve)
    }

    @Sendable private func serve(_ connection: ConnectionServer.Connection) async throws {
        // Listening on [::], an IPv4 client shows as ::ffff:a.b.c.d: report the address it used.
        var peer = connection.channel.remoteAddress?.ipAddress ?? "unknown"
        if peer.hasPrefix("::ffff:"), peer.contains(".") { peer.removeFirst(7) }
        try await connection.executeThenClose { inbound, outbound in
            var pending = ""
            var chunks = inbound.makeAsyncIterator() // one iterator: NIO allows no second
            while let chunk = try await chunks.next() {
                pending += String(buffer: chunk)
                if pending.hasPrefix("GET ") {
                    guard pending.contains("\r\n\r\n") else { continue }
                    let path = pending.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
                    var body = ByteBuffer(string: "backend \(name)\n")
                    if path.hasPrefix("/bytes/"), let n = Int(path.dropFirst(7)), n <= 1 << 30 {
                        body = ByteBuffer(repeating: UInt8(ascii: "x"), count: n)
                    }
                    try await outbound.write(
                        ByteBuffer(
                            string:
                                "HTTP/1.1 200 OK\r\nContent-Length: \(body.readableBytes)\r\nConnection: close\r\n\r\n")
                    )
                    try await outbound.write(body)
                    // Closing now could discard writes still queued: the client closes once it
                    // has Content-Length bytes, and that ends this loop.
                    while try await chunks.next() != nil {}
                    return
                }
                while let newline = pending.firstIndex(of: "\n") {
                    let line = pending[..<newline]
                    pending = String(pending[pending.index(after: newline)...])
                    if line.hasPrefix("PING ") {
                        try await outbound.write(ByteBuffer(string: "PONG \(line.dropFirst(5)) \(name)\n"))
                    } else if line == "WHO" {
                        try await outbound.write(ByteBuffer(string: "YOU \(peer) \(name)\n"))
                    }
                }
            }
        }
    }
}
