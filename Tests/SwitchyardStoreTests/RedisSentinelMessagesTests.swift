import Foundation
import SwitchyardCore
import Testing

@testable import SwitchyardStore

/// The Sentinel parsers on well-formed and malformed replies: a value or nil, never a trap.
struct RedisSentinelMessagesTests {
    private static func bulk(_ text: String) -> RESPValue { .bulk(Array(text.utf8)) }

    @Test func primaryAnswers() {
        let address = RESPValue.array([Self.bulk("127.0.0.1"), Self.bulk("6380")])
        #expect(RedisSentinelMessages.primaryAnswer(address) == .primary(HostPort("127.0.0.1:6380")!))
        #expect(
            RedisSentinelMessages.primaryAnswer(.array([Self.bulk("::1"), Self.bulk("26379")]))
                == .primary(HostPort("[::1]:26379")!))
        #expect(RedisSentinelMessages.primaryAnswer(.array(nil)) == .unknownName)
        #expect(RedisSentinelMessages.primaryAnswer(.bulk(nil)) == .unknownName)
    }

    @Test(arguments: [
        RESPValue.error("ERR unknown command"), .array([]), .array([.bulk(Array("127.0.0.1".utf8))]),
        .array([.bulk(Array("127.0.0.1".utf8)), .bulk(Array("0".utf8))]),
        .array([.bulk(Array("127.0.0.1".utf8)), .bulk(Array("65536".utf8))]),
        .array([.bulk(Array("127.0.0.1".utf8)), .bulk(Array("-1".utf8))]),
        .array([.bulk(Array("".utf8)), .bulk(Array("6379".utf8))]),
        .array([.bulk(Array("not a host!".utf8)), .bulk(Array("6379".utf8))]),
        .array([.integer(1), .integer(6379)]), .integer(6379), .simple("OK"),
        .array([.bulk(Array("127.0.0.1".utf8)), .bulk(Array("6379".utf8)), .bulk(nil)]),
    ])
    func malformedPrimaryAnswersAreNil(reply: RESPValue) {
        #expect(RedisSentinelMessages.primaryAnswer(reply) == nil)
    }

    @Test func roles() {
        #expect(RedisSentinelMessages.role(.array([Self.bulk("master"), .integer(10), .array([])])) == .primary)
        #expect(RedisSentinelMessages.role(.array([Self.bulk("slave"), Self.bulk("127.0.0.1")])) == .replica)
        #expect(RedisSentinelMessages.role(.array([Self.bulk("sentinel"), .array([])])) == .sentinel)
        for malformed: RESPValue in [
            .array([]), .array(nil), .array([.integer(1)]), Self.bulk("master"),
            .error("NOPERM this user has no permissions to run the 'role' command"), .array([Self.bulk("MASTERX")]),
        ] {
            #expect(RedisSentinelMessages.role(malformed) == nil, "\(malformed)")
        }
    }

    @Test func switchMessages() throws {
        let change = try #require(RedisSentinelSwitch(message: "m 127.0.0.1 6379 127.0.0.1 6380"))
        let expected = RedisSentinelSwitch(
            masterName: "m", from: HostPort("127.0.0.1:6379")!, to: HostPort("127.0.0.1:6380")!)
        #expect(change == expected)
        #expect(change.message == "m 127.0.0.1 6379 127.0.0.1 6380")
        #expect("\(change)" == "primary m moved from 127.0.0.1:6379 to 127.0.0.1:6380")
        let v6 = try #require(RedisSentinelSwitch(message: "store ::1 6379 ::1 6380"))
        #expect(v6.to == HostPort("[::1]:6380")!)
        #expect(RedisSentinelSwitch(message: v6.message) == v6)
        for malformed in [
            "", "m", "m 127.0.0.1 6379 127.0.0.1", "m 127.0.0.1 6379 127.0.0.1 6380 extra",
            "m 127.0.0.1 x 127.0.0.1 6380", "m 127.0.0.1 6379 127.0.0.1 70000", "m 127.0.0.1 0 127.0.0.1 6380",
            "m bad!host 6379 127.0.0.1 6380", "m 127.0.0.1 -6379 127.0.0.1 6380",
            "m 127.0.0.1 99999999999999999999999 127.0.0.1 6380",
        ] {
            #expect(RedisSentinelSwitch(message: malformed) == nil, "\(malformed)")
        }
    }

    /// Every Sentinel seed and every crash the fuzzer found (Fuzz/corpus/sentinel,
    /// Fuzz/regressions/sentinel) goes through the fuzzer's own entry point.
    @Test func savedFuzzInputsAreHandled() throws {
        let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz")
        var count = 0
        for kind in ["corpus", "regressions"] {
            let directory = fuzz.appendingPathComponent("\(kind)/sentinel").standardized
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            where !name.hasPrefix(".") {
                SentinelFuzzEntry.sentinel([UInt8](try Data(contentsOf: directory.appendingPathComponent(name))))
                count += 1
            }
        }
        #expect(count >= 8, "Fuzz/corpus/sentinel holds the seeds")
    }
}
