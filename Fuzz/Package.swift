// swift-tools-version:6.1
import PackageDescription

// Coverage-guided fuzzers (libFuzzer) for every parser of outside input, one executable per
// parser. A package of its own so the main package's build never sees the sanitizer; build and run
// through scripts/fuzz.sh, which passes -sanitize=fuzzer to every module (the parsers included).
//
// The main package is a path dependency; SwiftPM names it after its directory, whatever the checkout
// is called.
let parent = Context.packageDirectory.split(separator: "/").dropLast().last.map(String.init) ?? "Switchyard"

/// libFuzzer brings its own `main`; SwiftPM also defines one with `--defsym`. lld lets the latter win
/// (FuzzDriver then calls libFuzzer's driver); gold stops with an internal error instead.
let fuzzer = [LinkerSetting.unsafeFlags(["-use-ld=lld"])]

let package = Package(
    name: "SwitchyardFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    ],
    targets: [
        // The entry points; ParserFuzzEntries.swift, the RESP*FuzzEntry.swift files and SentinelFuzzEntry.swift are
        // also compiled into the main package's tests, which replay Fuzz/corpus and Fuzz/regressions through them.
        .target(
            name: "FuzzEntryPoints",
            dependencies: [
                .product(name: "DatapathModel", package: parent),
                .product(name: "DatapathFixtures", package: parent),
                .product(name: "SwitchyardConfig", package: parent),
                .product(name: "SwitchyardCore", package: parent),
                .product(name: "SwitchyardStore", package: parent),
                .product(name: "SwitchyardBGP", package: parent),
                .product(name: "SwitchyardBFD", package: parent),
                .product(name: "SwitchyardKubernetes", package: parent),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        .executableTarget(name: "FuzzKube", dependencies: ["FuzzEntryPoints"], linkerSettings: fuzzer),
        .executableTarget(name: "FuzzBGP", dependencies: ["FuzzEntryPoints"], linkerSettings: fuzzer),
        .executableTarget(name: "FuzzBFD", dependencies: ["FuzzEntryPoints"], linkerSettings: fuzzer),
        .executableTarget(name: "FuzzFrameDescriber", dependencies: ["FuzzEntryPoints"], linkerSettings: fuzzer),
        .executableTarget(name: "FuzzPacketSpec", dependencies: ["FuzzEntryPoints"], linkerSettings: fuzzer),
        .executableTarget(name: "FuzzConfig", dependencies: ["FuzzEntryPoints"], linkerSettings: fuzzer),
        .executableTarget(name: "FuzzRESP", dependencies: ["FuzzEntryPoints"], linkerSettings: fuzzer),
        .executableTarget(name: "FuzzSentinel", dependencies: ["FuzzEntryPoints"], linkerSettings: fuzzer),
        .executableTarget(name: "FuzzRESPCluster", dependencies: ["FuzzEntryPoints"], linkerSettings: fuzzer),
        .executableTarget(name: "FuzzPcap", dependencies: ["FuzzEntryPoints"], linkerSettings: fuzzer),
        .executableTarget(name: "FuzzPipeline", dependencies: ["FuzzEntryPoints"], linkerSettings: fuzzer),
        // Writes the seed corpora (Fuzz/corpus) from packet specs, example configs and RESP replies.
        .executableTarget(
            name: "FuzzSeeds",
            dependencies: [
                .product(name: "DatapathModel", package: parent),
                .product(name: "DatapathFixtures", package: parent),
                .product(name: "SwitchyardConfig", package: parent),
                .product(name: "SwitchyardStore", package: parent),
                .product(name: "NIOCore", package: "swift-nio"),
            ], linkerSettings: fuzzer),
    ],
    swiftLanguageModes: [.v6]
)
