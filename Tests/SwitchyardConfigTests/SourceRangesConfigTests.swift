import SwitchyardABI
import SwitchyardCore
import Testing

@testable import SwitchyardConfig

/// `services[].sourceRanges`: what loads, and each bad value as one error at its line and field.
@Suite struct SourceRangesConfigTests {
    static let yaml = """
        node:
          name: lb1
          ipv4Source: 10.0.0.11
          ipv6Source: fd00::11
        services:
          - name: web
            vip: 10.200.0.10
            ports: [{port: 80}, {port: 443}]
            sourceRanges:
              - 203.0.113.0/24
              - 10.0.0.7/32
              - "2001:db8::/32"
            backends:
              - {address: 10.1.0.11}
          - name: web6
            vip: "2001:db8:200::10"
            ports: [{port: 80}]
            sourceRanges: ["::/0"]
            backends:
              - {address: "fd00:1::11"}
          - name: open
            vip: 10.200.0.11
            ports: [{port: 80}]
            sourceRanges: []
            backends: []
        """

    func errors(_ yaml: String) -> [ConfigError] {
        switch ConfigLoader.parse(yaml: yaml, file: "t.yaml") {
        case .success: []
        case .failure(let failure): failure.errors
        }
    }

    @Test func prefixesOfBothFamiliesLoadOnEveryPort() throws {
        let config = try ConfigLoader.parse(yaml: Self.yaml, file: "t.yaml").get()
        let expected = ["203.0.113.0/24", "10.0.0.7/32", "2001:db8::/32"]
        #expect(config.services.count == 4)
        #expect(config.services[0].sourceRanges.map(\.description) == expected)
        #expect(config.services[1].sourceRanges.map(\.description) == expected, "every port shares the list")
        #expect(config.services[2].sourceRanges.map(\.description) == ["::/0"])
        #expect(config.services[3].sourceRanges.isEmpty, "an empty list admits every client")
    }

    @Test func absentMeansEveryClient() throws {
        let yaml = Self.yaml.replacingOccurrences(of: "    sourceRanges: []\n", with: "")
        let config = try ConfigLoader.parse(yaml: yaml, file: "t.yaml").get()
        #expect(config.services[3].sourceRanges.isEmpty)
    }

    /// Each bad value is one error at its own line and field, saying what to write instead.
    @Test(arguments: [
        ("- 203.0.113.0/24", "- 203.0.113.0/33", 10, "services[0].sourceRanges[0]", "expected a prefix such as"),
        ("- 203.0.113.0/24", "- 203.0.113.0", 10, "services[0].sourceRanges[0]", "got '203.0.113.0'"),
        ("- 203.0.113.0/24", "- example.com/24", 10, "services[0].sourceRanges[0]", "expected a prefix"),
        (
            "- 203.0.113.0/24", "- 10.0.0.1/8", 10, "services[0].sourceRanges[0]",
            "'10.0.0.1/8' has host bits set below /8; did you mean 10.0.0.0/8?"
        ),
        (
            "\"2001:db8::/32\"", "\"2001:db8::1/32\"", 12, "services[0].sourceRanges[2]",
            "did you mean 2001:db8::/32?"
        ),
        ("- 10.0.0.7/32", "- 203.0.113.0/24", 11, "services[0].sourceRanges[1]", "duplicate prefix 203.0.113.0/24"),
        (
            "[\"::/0\"]", "[10.0.0.0/8]", 18, "services[1].sourceRanges",
            "has no IPv6 prefix but VIP 2001:db8:200::10 is IPv6, so every client would be dropped"
        ),
        ("sourceRanges: []", "sourceRanges: 10.0.0.0/8", 24, "services[2].sourceRanges", "expected a list"),
        ("sourceRanges: []", "sourceRange: []", 24, "services[2].sourceRange", "did you mean 'sourceRanges'"),
    ])
    func badValuesAreAtTheirLines(_ find: String, _ replace: String, _ line: Int, _ field: String, _ message: String) {
        let found = errors(Self.yaml.replacingOccurrences(of: find, with: replace))
        #expect(found.map { "\($0.line) \($0.field)" } == ["\(line) \(field)"], "\(found)")
        #expect(found.first?.message.contains(message) == true, "\(found)")
    }

    @Test func moreThanTheDatapathHoldsIsRefused() {
        let limit = Int(SY_SOURCE_RANGES_MAX)
        let list = (0...limit).map { "10.\($0 / 256).\($0 % 256).0/24" }.joined(separator: ", ")
        let found = errors(Self.yaml.replacingOccurrences(of: "sourceRanges: []", with: "sourceRanges: [\(list)]"))
        #expect(found.map { "\($0.line) \($0.field)" } == ["24 services[2].sourceRanges"], "\(found)")
        #expect(
            found.first?.message == "has \(limit + 1) prefixes, at most \(limit) are allowed per service; "
                + "merge neighbouring prefixes into shorter ones")
        let atLimit = (0..<limit).map { "10.0.\($0).0/24" }.joined(separator: ", ")
        #expect(
            errors(Self.yaml.replacingOccurrences(of: "sourceRanges: []", with: "sourceRanges: [\(atLimit)]")).isEmpty)
    }
}
