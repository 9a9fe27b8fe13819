// swift-tools-version:6.1
import PackageDescription

// Layering (see DESIGN.md): pure core and model targets know nothing of I/O; the C ABI header is
// the one definition of what the datapath and Swift exchange; the executable is the wiring.
let package = Package(
    name: "Switchyard",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "switchyard", targets: ["switchyard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // The ABI header shared by the BPF programs and Swift: map layouts, constants, drop reasons,
        // and the flow hash specification.
        .target(name: "SwitchyardABI"),
        // Pure: addresses, services, Maglev, flow hash, config model and validation rules.
        .target(name: "SwitchyardCore", dependencies: ["SwitchyardABI"]),
        // The YAML boundary: text in, validated `SwitchyardConfig` or every error out.
        .target(name: "SwitchyardConfig", dependencies: ["SwitchyardCore", "Yams"]),
        // Pure: the Swift reference of the XDP pipeline, one file per BPF header.
        .target(name: "DatapathModel", dependencies: ["SwitchyardCore", "SwitchyardABI"]),
        // The fixture corpus (Tests/Fixtures/pipeline): loading cases and checking a result
        // against them. Shared by the model tests, the kernel differential tests and selftest.
        // libbpf (Debian's libbpf-dev) as a system library.
        .systemLibrary(name: "CLibbpf", pkgConfig: "libbpf", providers: [.apt(["libbpf-dev"])]),
        // Compiles bpf/*.c of a target with the toolchain's clang and embeds the objects.
        .plugin(name: "BPFObjects", capability: .buildTool()),
        // I/O: the BPF programs (bpf/, compiled by the plugin) and the thin Swift layer that
        // loads, pins, attaches and programs them.
        .target(
            name: "SwitchyardDatapath",
            dependencies: ["CLibbpf", "SwitchyardABI", "SwitchyardCore", "DatapathModel"],
            resources: [.copy("bpf")],
            plugins: ["BPFObjects"]
        ),
        .target(name: "DatapathFixtures", dependencies: ["DatapathModel", "SwitchyardConfig", "Yams"]),
        .testTarget(name: "SwitchyardDatapathTests", dependencies: ["SwitchyardDatapath", "DatapathFixtures", "DatapathModel"]),
        .executableTarget(
            name: "switchyard",
            dependencies: [
                "SwitchyardCore", "SwitchyardConfig", "DatapathModel", "SwitchyardDatapath", "DatapathFixtures",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "SwitchyardCoreTests", dependencies: ["SwitchyardCore"]),
        .testTarget(name: "SwitchyardConfigTests", dependencies: ["SwitchyardConfig"]),
        .testTarget(name: "DatapathModelTests", dependencies: ["DatapathModel", "DatapathFixtures", "SwitchyardConfig"]),
    ],
    swiftLanguageModes: [.v6]
)
