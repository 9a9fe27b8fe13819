import Foundation
import SwitchyardCore
import Testing

@testable import SwitchyardConfig

/// Each error a new user met names the exact line and field, and says what to change.
@Suite struct PreciseErrorTests {
    static let twoServices = """
        node:
          name: lb1
          ipv4Source: 10.0.0.11
        services:
          - name: web
            vip: 10.200.0.10
            ports:
              - {port: 80}
            backends: []
          - name: web
            vip: 10.200.0.11
            ports:
              - {port: 443}
              - {port: 80, protocol: udp}
              - {port: 8080}
            backends: []
          - name: api
            vip: 10.200.0.10
            ports:
              - {port: 81}
              - {port: 80}
            backends: []
        """

    func errors(_ yaml: String) -> [ConfigError] {
        switch ConfigLoader.parse(yaml: yaml, file: "t.yaml") {
        case .success: []
        case .failure(let failure): failure.errors
        }
    }

    @Test func duplicateNameAndKeyAreAtTheirOwnLines() {
        let found = errors(Self.twoServices)
        #expect(
            found.map { "\($0.line) \($0.field)" } == ["10 services[1].name", "21 services[2].ports[1]"],
            "\(found)")
        #expect(found.first?.message == "duplicate service name 'web' (first at line 5)")
        #expect(found.last?.message == "duplicate service 10.200.0.10:80/tcp (first at line 8)")
    }

    @Test func gueClashIsAtGuePort() throws {
        let path = ConfigLoaderTests.examples.appendingPathComponent("bad.yaml").path
        guard case .failure(let failure) = ConfigLoader.load(path: path) else {
            Issue.record("bad.yaml loaded")
            return
        }
        let clash = try #require(failure.errors.first { $0.message.contains("GUE port clash") })
        let lines = try String(contentsOfFile: path, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[clash.line - 1].trimmingCharacters(in: .whitespaces).hasPrefix("guePort: 7000"))
        #expect(clash.field == "services[3].guePort")
        #expect(clash.message.hasSuffix("(first at line 32)"), "dns's guePort")
    }

    @Test func aTopLevelListNamesTheDocument() {
        let found = errors("- node\n- services\n")
        #expect(found.map { "\($0.line) \($0.field)" } == ["1 (document)"])
        #expect(found.first?.message.contains("expected a mapping of node, services, got a list") == true)
    }

    @Test func aMissingFileSaysWhy() {
        let path = NSTemporaryDirectory() + "switchyard-no-such-\(UInt32.random(in: 0...UInt32.max)).yaml"
        guard case .failure(let failure) = ConfigLoader.load(path: path) else {
            Issue.record("loaded a missing file")
            return
        }
        #expect(failure.errors.map(\.description) == ["\(path): file: cannot be read: no such file or directory"])
    }

    @Test(.enabled(if: getuid() != 0, "root reads any file")) func anUnreadableFileSaysWhy() throws {
        let path = NSTemporaryDirectory() + "switchyard-unreadable-\(UInt32.random(in: 0...UInt32.max)).yaml"
        try ConfigLoaderTests.minimal.write(toFile: path, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        chmod(path, 0)
        guard case .failure(let failure) = ConfigLoader.load(path: path) else {
            Issue.record("read a mode-0 file")
            return
        }
        #expect(failure.errors.first?.message == "cannot be read: permission denied")
    }

    @Test func aDirectoryIsNotAConfig() {
        guard case .failure(let failure) = ConfigLoader.load(path: NSTemporaryDirectory()) else {
            Issue.record("loaded a directory")
            return
        }
        #expect(failure.errors.first?.message == "cannot be read: is a directory")
    }

    @Test func tabsInIndentationAreNamed() {
        let yaml = ConfigLoaderTests.minimal.replacingOccurrences(of: "  ipv4Source", with: "\tipv4Source")
        let found = errors(yaml)
        #expect(found.map { "\($0.line) \($0.field)" } == ["3 yaml"], "\(found)")
        #expect(found.first?.message == "tabs are not allowed for indentation in YAML; use spaces")
    }

    @Test func aTabAfterTheKeyIsFine() throws {
        let yaml = ConfigLoaderTests.minimal.replacingOccurrences(of: "name: lb1", with: "name:\tlb1")
        #expect(errors(yaml).isEmpty)
    }

    @Test(arguments: [
        ("name: lb1", "name: lb1\n  mtu: \"1500\"", 3, "node.mtu", "expected an integer, got the string \"1500\""),
        ("name: lb1", "name: lb1\n  mtu: '1500'", 3, "node.mtu", "expected an integer, got the string \"1500\""),
        ("name: lb1", "name: lb1\n  mtu: 15x0", 3, "node.mtu", "expected an integer, got '15x0'"),
        ("name: lb1", "name: lb1\n  mtu:", 3, "node.mtu", "expected an integer, got nothing"),
        ("name: lb1", "name: lb1\n  mtu: [1500]", 3, "node.mtu", "expected an integer, got a list"),
        (
            "name: lb1", "name: lb1\n  flowEvictIdleSeconds: \"2\"", 3, "node.flowEvictIdleSeconds",
            "expected a number, got the string \"2\""
        ),
        ("{port: 80}", "{port: \"80\"}", 7, "services[0].ports[0].port", "expected an integer, got the string \"80\""),
        (
            "{address: 10.1.0.11}", "{address: 10.1.0.11, weight: \"2\"}", 9, "services[0].backends[0].weight",
            "expected an integer, got the string \"2\""
        ),
        ("name: lb1", "name: [lb1]", 2, "node.name", "expected a non-empty string, got a list"),
        ("  - name: web", "  - name: web\n    guePort: 6080\n    encap: gue", 6, "services[0].guePort", ""),
    ])
    func scalarTypes(_ find: String, _ replace: String, _ line: Int, _ field: String, _ message: String) {
        let found = errors(ConfigLoaderTests.minimal.replacingOccurrences(of: find, with: replace))
        if message.isEmpty { // the control: a plain number is a number
            #expect(found.isEmpty, "\(found)")
            return
        }
        #expect(
            found.map { "\($0.line) \($0.field)" } == ["\(line) \(field)"],
            "one error, not its consequences too: \(found)")
        #expect(found.first?.message == message, "\(found)")
    }

    /// A problem the core finds at a field that is not written is placed at its mapping.
    @Test func aMissingFieldIsAtItsMapping() {
        let yaml = ConfigLoaderTests.minimal.replacingOccurrences(of: "    vip: 10.200.0.10\n", with: "")
        let found = errors(yaml)
        #expect(found.map { "\($0.line) \($0.field) \($0.message)" } == ["5 services[0].vip required field is missing"])
    }

    static let withBGP = """
        node:
          name: lb1
          ipv4Source: 10.0.0.11
          shard: 2
          bgp:
            asn: 65001
            holdSeconds: 9
            drainSeconds: 5
            peers:
              - address: 10.0.0.1
                asn: 65000
                password: secret
                families: [ipv4, ipv6]
                bfd: {intervalMs: 100, multiplier: 5}
        services:
          - name: web
            vip: 10.200.0.10
            ports: [{port: 80}]
            shard: 2
            communities: [65000:100, "65000:200"]
            largeCommunities: ["65000:1:2"]
            backends:
              - {address: 10.1.0.11}
        """

    @Test func bgpAndCommunitiesLoad() throws {
        let config = try ConfigLoader.parse(yaml: Self.withBGP, file: "t.yaml").get()
        let bgp = try #require(config.node.bgp)
        #expect(bgp.asn == 65001 && bgp.holdSeconds == 9 && bgp.drainSeconds == 5)
        #expect(bgp.peers.first?.families == [.ipv4, .ipv6] && bgp.peers.first?.password == "secret")
        #expect(bgp.peers.first?.bfd == BFDSettings(intervalMs: 100, multiplier: 5))
        #expect(config.node.shard == 2 && config.services.first?.shard == 2)
        #expect(config.services.first?.communities.map(\.description) == ["65000:100", "65000:200"])
        #expect(config.services.first?.largeCommunities.map(\.description) == ["65000:1:2"])
    }

    /// Each bad BGP value is one error at its own line and field.
    @Test(arguments: [
        ("asn: 65001", "asn: 23456", 6, "node.bgp.asn", "23456 is AS_TRANS"),
        ("holdSeconds: 9", "holdSeconds: 1", 7, "node.bgp.holdSeconds", "0 or an integer from 3 to 65535"),
        ("drainSeconds: 5", "drainSecond: 5", 8, "node.bgp.drainSecond", "did you mean 'drainSeconds'"),
        (
            "password: secret", "password: \(String(repeating: "k", count: 81))", 12, "node.bgp.peers[0].password",
            "at most 80 bytes"
        ),
        ("[ipv4, ipv6]", "[ipv4, ipv7]", 13, "node.bgp.peers[0].families[1]", "expected one of ipv4, ipv6"),
        (
            "[ipv4, ipv6]", "[ipv4, [ipv6]]", 13, "node.bgp.peers[0].families[1]",
            "expected a non-empty string, got a list"
        ),
        ("multiplier: 5", "multiplier: 0", 14, "node.bgp.peers[0].bfd.multiplier", "from 1 to 255"),
        ("address: 10.0.0.1", "address: fd00::1", 14, "node.bgp.peers[0].bfd", "set this peer's sourceAddress"),
        ("shard: 2\n  bgp", "shard: two\n  bgp", 4, "node.shard", "expected an integer"),
        ("[65000:100,", "[65000:100000,", 20, "services[0].communities[0]", "ASN:VALUE"),
        ("[\"65000:1:2\"]", "65000:1:2", 21, "services[0].largeCommunities", "expected a list"),
    ])
    func bgpErrorsAreAtTheirLines(_ find: String, _ replace: String, _ line: Int, _ field: String, _ message: String) {
        let found = errors(Self.withBGP.replacingOccurrences(of: find, with: replace))
        #expect(found.map { "\($0.line) \($0.field)" } == ["\(line) \(field)"], "\(found)")
        #expect(found.first?.message.contains(message) == true, "\(found)")
    }
}
