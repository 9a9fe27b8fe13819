import DatapathFixtures
import DatapathModel
import Foundation
import SwitchyardConfig
import SwitchyardCore

/// One entry point per parser of outside input, shared by the libFuzzer targets (Fuzz/) and the
/// ordinary test suite, which replays every saved corpus and crash file through the same code
/// (this file is symlinked into Tests/DatapathModelTests). An entry returns normally for any
/// input; a trap, or a broken invariant checked here, is a finding.
public enum FuzzEntry {
    /// The fuzz targets by directory name under Fuzz/corpus and Fuzz/regressions.
    public static let targets: [String: @Sendable ([UInt8]) -> Void] = [
        "frame-describer": frameDescriber, "packet-spec": packetSpec, "config": config, "pcap": pcap,
        "pipeline": pipeline,
    ]

    /// The GUE port of the fixture and example configs, so the describer follows GUE tunnels.
    static let guePorts: Set<UInt16> = [6080]

    public static func frameDescriber(_ input: [UInt8]) {
        let lines = FrameDescriber.describe(input, guePorts: guePorts)
        check(!lines.isEmpty, "the describer returned no line")
    }

    /// The `--packet` notation, then the frame it builds and its description, as `switchyard trace`.
    public static func packetSpec(_ input: [UInt8]) {
        guard let packet = try? PacketSpec.parse(String(decoding: input, as: UTF8.self)) else { return }
        _ = FrameDescriber.describe(packet.frame(), guePorts: guePorts)
    }

    /// A ring larger than this is valid but costs ~100 ms to build; the fuzzer would crawl.
    static let maxRingForTables = 65537

    /// The config loader; a config it accepts must also build datapath tables, as trace and the agent do.
    public static func config(_ input: [UInt8]) {
        let result = ConfigLoader.parse(yaml: String(decoding: input, as: UTF8.self), file: "fuzz.yaml")
        switch result {
        case .success(let config):
            if config.node.maglevTableSize <= maxRingForTables { _ = DatapathTables(config: config) }
        case .failure(let errors):
            check(!errors.errors.isEmpty, "a rejected config carries no error")
        }
    }

    /// The capture reader; what it reads must write back and read again to the same frames.
    public static func pcap(_ input: [UInt8]) {
        guard let frames = try? Pcap.read(input) else { return }
        let again = try? Pcap.read(Pcap.write(frames))
        check(again == frames, "a capture read, written and read again changed its frames")
        for frame in frames { _ = FrameDescriber.describe(frame, guePorts: guePorts) }
    }

    /// The model pipeline on a raw frame, over the fixture tables (Tests/Fixtures/pipeline/configs/base.yaml),
    /// run twice: the second run sees the flow entry the first may have written and must decide the same.
    public static func pipeline(_ input: [UInt8]) {
        var tables = fixtureTables
        let first = Pipeline.process(input, tables: &tables)
        let second = Pipeline.process(input, tables: &tables)
        for result in [first, second] {
            let drops = result.counters.drops.values.reduce(0, +)
            if case .drop = result.verdict {
                check(drops == 1, "a drop counted \(drops) times")
            } else {
                check(drops == 0, "\(drops) drops counted without a drop verdict")
            }
            if case .tx(let output) = result.verdict {
                check(output.count >= 14, "a transmitted frame of \(output.count) bytes")
                _ = FrameDescriber.describe(output, guePorts: guePorts)
            }
        }
        check(first.verdict == second.verdict, "the same frame got \(first.verdict), then \(second.verdict)")
    }

    static let fixtureTables: DatapathTables = {
        let path = "Tests/Fixtures/pipeline/configs/base.yaml"
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/",
            !FileManager.default.fileExists(atPath: directory.appendingPathComponent(path).path)
        {
            directory = directory.deletingLastPathComponent()
        }
        switch ConfigLoader.load(path: directory.appendingPathComponent(path).path) {
        case .success(let config): return DatapathTables(config: config)
        case .failure(let errors): fatalError("the pipeline fuzz target needs \(path) above \(#filePath): \(errors)")
        }
    }()

    /// A broken invariant is a finding: trap so libFuzzer saves the input.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("fuzz invariant: \(message())") }
    }
}
