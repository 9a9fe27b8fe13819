import Foundation
import NIOCore
import SwitchyardCore
import Testing

@testable import SwitchyardStore

/// The classification of error replies from their text. MOVED, ASK, TRYAGAIN and LOADING need a
/// cluster or a loading server to provoke; their wording here follows the Redis cluster
/// specification and the server's source. The rest are provoked for real in the store tests.
@Suite struct RedisErrorTests {
    @Test(
        arguments: [
            ("MOVED 3999 127.0.0.1:6381", RedisErrorKind.moved, RedisErrorKind.Handling.redirect),
            ("ASK 3999 127.0.0.1:6381", .ask, .redirect),
            ("TRYAGAIN Multiple keys request during rehashing of slot", .tryAgain, .retryLater),
            ("LOADING Redis is loading the dataset in memory", .loading, .retryLater),
            ("CLUSTERDOWN Hash slot not served", .clusterDown, .retryLater),
            ("OOM command not allowed when used memory > 'maxmemory'.", .outOfMemory, .refuse),
            ("NOAUTH Authentication required.", .noAuth, .authenticate),
            ("WRONGPASS invalid username-password pair or user is disabled.", .wrongPass, .authenticate),
            ("NOPERM User lb has no permissions to run the 'set' command", .noPermission, .refuse),
            ("ERR syntax error", .other, .refuse),
            ("WRONGTYPE Operation against a key holding the wrong kind of value", .other, .refuse),
            ("READONLY You can't write against a read only replica.", .readOnly, .retryLater),
            ("", .other, .refuse),
            ("moved 1 a:1", .moved, .redirect),
        ] as [(String, RedisErrorKind, RedisErrorKind.Handling)])
    func kindFromTheFirstWord(_ reply: String, _ kind: RedisErrorKind, _ handling: RedisErrorKind.Handling) {
        let error = RedisError(reply: reply)
        #expect(error.kind == kind)
        #expect(error.handling == handling)
        #expect(error.message == reply)
    }

    @Test(
        arguments: [
            ("MOVED 3999 127.0.0.1:6381", RedisRedirect(slot: 3999, target: .node(HostPort("127.0.0.1:6381")!))),
            (
                "ASK 16383 redis-2.flows:7000",
                RedisRedirect(slot: 16383, target: .node(HostPort("redis-2.flows:7000")!))
            ),
            // Redis writes an IPv6 endpoint without brackets: the port follows the last colon.
            ("MOVED 0 2001:db8::7:6379", RedisRedirect(slot: 0, target: .node(HostPort("[2001:db8::7]:6379")!))),
            // An empty endpoint: the host the command went to, on this port.
            ("MOVED 12182 :6380", RedisRedirect(slot: 12182, target: .sameHost(port: 6380))),
        ] as [(String, RedisRedirect)])
    func redirectTargets(_ reply: String, _ redirect: RedisRedirect) {
        #expect(RedisError(reply: reply).redirect == redirect)
    }

    @Test(arguments: [
        "MOVED", "MOVED 3999", "MOVED x 127.0.0.1:6381", "MOVED 16384 127.0.0.1:6381", "MOVED -1 a:1",
        "ASK 1 127.0.0.1", "ASK 1 127.0.0.1:0", "ASK 1 127.0.0.1:99999", "ASK 1 :0", "MOVED 1 a b:1",
        "MOVED 1 bad host:1",
    ])
    func malformedRedirectsHaveNoTarget(_ reply: String) {
        let error = RedisError(reply: reply)
        #expect(error.handling == .redirect)
        #expect(error.redirect == nil)
    }

    @Test func sameHostRedirectsResolveAgainstTheNodeThatReplied() throws {
        let redirect = try #require(RedisError(reply: "MOVED 5 :7001").redirect)
        #expect(redirect.address(from: HostPort("[::1]:7000")!) == HostPort("[::1]:7001"))
        #expect(redirect.address(from: HostPort("redis:7000")!) == HostPort("redis:7001"))
        let elsewhere = try #require(RedisError(reply: "ASK 5 10.0.0.2:7002").redirect)
        #expect(elsewhere.address(from: HostPort("redis:7000")!) == HostPort("10.0.0.2:7002"))
    }

    /// Off the wire: an error reply decodes, then classifies.
    @Test func decodedErrorRepliesClassify() throws {
        var buffer = ByteBuffer(string: "-ASK 3999 [::1]:6381\r\n-TRYAGAIN x\r\n+OK\r\n")
        let ask = try #require(try RESPCodec.read(from: &buffer)?.redisError)
        #expect(ask.kind == .ask && ask.redirect == nil, "a bracketed endpoint is not what Redis writes")
        #expect(try RESPCodec.read(from: &buffer)?.redisError?.kind == .tryAgain)
        #expect(try RESPCodec.read(from: &buffer)?.redisError == nil)
    }

    @Test func kindsAreStableLabels() throws {
        #expect(
            RedisErrorKind.allCases.map(\.rawValue)
                == [
                    "moved", "ask", "tryagain", "loading", "clusterdown", "oom", "noauth", "wrongpass", "noperm",
                    "readonly", "other",
                ])
        // Counts by kind encode as a JSON object keyed by label, for the status document.
        let json = try JSONEncoder().encode([RedisErrorKind.outOfMemory: 2])
        #expect(String(decoding: json, as: UTF8.self) == #"{"oom":2}"#)
    }
}

/// A batch's replies sorted by write, without a server: every kind the classifier knows.
@Suite struct FlowStoreWriteResultTests {
    static let node = HostPort("10.0.0.1:6379")!

    static func record(_ i: Int) -> FlowRecord {
        FlowRecord(
            service: "svc",
            flow: FlowKey(
                source: .v4(IPv4Address(UInt32(i))), destination: .v4(IPv4Address(1)),
                sourcePort: 1, destinationPort: 2, proto: 6),
            backend: "b", origin: "lb1")
    }

    @Test func repliesAreSortedByWrite() throws {
        let writes: [FlowStoreWrite] = [
            .put(Self.record(0), seconds: 60, announce: true), // SET ok, PUBLISH ok
            .put(Self.record(1), seconds: 60, announce: true), // SET MOVED, PUBLISH ok
            .put(Self.record(2), seconds: 60, announce: false), // ASK, empty endpoint
            .delete(Self.record(3)), // TRYAGAIN
            .put(Self.record(4), seconds: 60, announce: false), // LOADING
            .put(Self.record(5), seconds: 60, announce: true), // SET ok, PUBLISH NOPERM
            .delete(Self.record(6)), // OOM can't happen on DEL, but counts if it did
            .put(Self.record(7), seconds: 0, announce: false), // ERR
        ]
        let replies: [RESPValue] = [
            .simple("OK"), .integer(1),
            .error("MOVED 12 10.0.0.2:6379"), .integer(0),
            .error("ASK 13 :6380"),
            .error("TRYAGAIN Multiple keys request during rehashing of slot"),
            .error("LOADING Redis is loading the dataset in memory"),
            .simple("OK"), .error("NOPERM No permissions to access a channel"),
            .error("OOM command not allowed when used memory > 'maxmemory'."),
            .error("ERR invalid expire time in 'set' command"),
        ]
        let result = try FlowStoreWriteResult(
            writes: writes, commandCounts: [2, 2, 1, 1, 1, 2, 1, 1], replies: replies,
            node: Self.node)
        #expect(result.written == 1)
        #expect(result.retry.map(\.write) == [writes[1], writes[2], writes[3], writes[4]])
        #expect(result.retry.map(\.target) == [HostPort("10.0.0.2:6379"), HostPort("10.0.0.1:6380"), nil, nil])
        #expect(result.retry.map(\.error.kind) == [.moved, .ask, .tryAgain, .loading])
        #expect(result.refused == [.noPermission: 1, .outOfMemory: 1, .other: 1])
        #expect(result.refusedCount == 3)
        #expect(result.firstRefusal?.kind == .noPermission)
        #expect(
            result.errors == [
                .moved: 1, .ask: 1, .tryAgain: 1, .loading: 1,
                .noPermission: 1, .outOfMemory: 1, .other: 1,
            ])
    }

    @Test func anAuthenticationFailureFailsTheBatch() {
        let writes: [FlowStoreWrite] = [.delete(Self.record(0)), .delete(Self.record(1))]
        #expect(throws: RedisError(reply: "NOAUTH Authentication required.")) {
            try FlowStoreWriteResult(
                writes: writes, commandCounts: [1, 1],
                replies: [.integer(1), .error("NOAUTH Authentication required.")], node: Self.node)
        }
    }
}
