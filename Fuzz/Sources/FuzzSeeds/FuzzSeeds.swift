import DatapathFixtures
import DatapathModel
import Foundation
import NIOCore
import SwitchyardConfig
import SwitchyardStore

/// Writes the seed corpora under Fuzz/corpus/<target>/ from real inputs: the pipeline fixtures'
/// packets (and what the model sends for them), the example configs, RESP replies and captures.
/// Run from the repository root: `swift run --package-path Fuzz FuzzSeeds`.
@main enum FuzzSeeds {
    static func main() throws {
        let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let fixtures = root.appendingPathComponent("Tests/Fixtures/pipeline")
        let corpus = root.appendingPathComponent("Fuzz/corpus")

        var specs: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: fixtures.path).sorted()
        where name.hasSuffix(".yaml") {
            let text = try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("packet: ") {
                specs.append(String(line.dropFirst("packet: ".count)))
            }
        }
        let config = try ConfigLoader.load(path: fixtures.appendingPathComponent("configs/base.yaml").path).get()
        var tables = DatapathTables(config: config)
        var frames: [[UInt8]] = []
        var outputs: [[UInt8]] = []
        for spec in specs {
            let frame = try PacketSpec.parse(spec).frame()
            frames.append(frame)
            if case .tx(let output) = Pipeline.process(frame, tables: &tables).verdict { outputs.append(output) }
        }

        try write(specs.map { Array($0.utf8) }, to: corpus.appendingPathComponent("packet-spec"))
        try write(frames, to: corpus.appendingPathComponent("pipeline"))
        try write(frames + outputs, to: corpus.appendingPathComponent("frame-describer"))
        let configs = ["examples/switchyard.yaml", "examples/bad.yaml", "Tests/Fixtures/pipeline/configs/base.yaml"]
        try write(
            configs.map { [UInt8](try Data(contentsOf: root.appendingPathComponent($0))) },
            to: corpus.appendingPathComponent("config"))
        try write(respReplies(), to: corpus.appendingPathComponent("resp"))
        try write(clusterSlotsReplies(), to: corpus.appendingPathComponent("resp-cluster"))
        let captures = [
            Pcap.write(Array(frames.prefix(3))), Pcap.write(outputs.suffix(2)),
            bigEndianNanosecondPcap(frames[0]),
        ]
        try write(captures, to: corpus.appendingPathComponent("pcap"))
    }

    /// Replies a Redis server sends the flow store, and one of each RESP2 type.
    static func respReplies() -> [[UInt8]] {
        let values: [RESPValue] = [
            .simple("OK"), .error("NOAUTH Authentication required."), .integer(1), .bulk(nil), .array(nil),
            .bulk(Array("10.1.0.11|80|1700000000".utf8)),
            .array([.bulk(Array("message".utf8)), .bulk(Array("switchyard:flows".utf8)), .bulk(Array("x".utf8))]),
            .array([.integer(0), .array([.bulk(Array("k".utf8)), .bulk([0, 255, 13, 10])]), .simple("")]),
        ]
        return values.map { value in
            var buffer = ByteBuffer()
            RESPCodec.write(value, into: &buffer)
            return Array(buffer.readableBytesView)
        }
    }

    /// `CLUSTER SLOTS` replies as Redis 7.0 sends them (a node is [host, port, id, {metadata}]),
    /// one with an empty and an unknown host, and an error reply.
    static func clusterSlotsReplies() -> [[UInt8]] {
        func bulk(_ text: String) -> RESPValue { .bulk(Array(text.utf8)) }
        func node(_ host: String, _ port: Int, _ id: String) -> RESPValue {
            .array([bulk(host), .integer(port), bulk(id), .array([])])
        }
        let values: [RESPValue] = [
            .array([
                .array([.integer(0), .integer(5460), node("127.0.0.1", 7000, "a1"), node("127.0.0.1", 7004, "b1")]),
                .array([.integer(5461), .integer(10922), node("127.0.0.1", 7001, "a2"), node("127.0.0.1", 7005, "b2")]),
                .array([.integer(10923), .integer(16383), node("127.0.0.1", 7002, "a3"), node("127.0.0.1", 7003, "b3")]
                ),
            ]),
            .array([
                .array([.integer(0), .integer(99), node("", 7000, "a1")]),
                .array([.integer(100), .integer(199), node("?", 7001, "a2"), .array([.bulk(nil), .integer(7002)])]),
                .array([.integer(200), .integer(16383), node("redis-1.example", 6379, "a3")]),
            ]),
            .error("ERR This instance has cluster support disabled"),
        ]
        return values.map { value in
            var buffer = ByteBuffer()
            RESPCodec.write(value, into: &buffer)
            return Array(buffer.readableBytesView)
        }
    }

    /// The other magic and byte order than `Pcap.write`, by hand (tcpdump on a big-endian host).
    static func bigEndianNanosecondPcap(_ frame: [UInt8]) -> [UInt8] {
        func be32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
        var out = be32(0xa1b2_3c4d) + [0, 2, 0, 4] + be32(0) + be32(0) + be32(65535) + be32(1)
        out += be32(1) + be32(500) + be32(UInt32(frame.count)) + be32(UInt32(frame.count)) + frame
        return out
    }

    /// Files named by their index, so rerunning replaces rather than adds.
    static func write(_ inputs: [[UInt8]], to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (index, input) in inputs.enumerated() {
            try Data(input).write(to: directory.appendingPathComponent(String(format: "seed-%03d", index)))
        }
        print("\(directory.lastPathComponent): \(inputs.count) seeds")
    }
}
