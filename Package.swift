// swift-tools-version:6.1
import PackageDescription

// Layering (see DESIGN.md): pure core and model targets know nothing of I/O; the C ABI header is
// the one definition of what the datapath and Swift exchange; the executable is the wiring.
let package = Package(
    name: "Switchyard",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "switchyard", targets: ["switchyard"]),
        // The parsers of outside input, for the fuzzers in Fuzz/ (a separate package).
        .library(name: "SwitchyardCore", targets: ["SwitchyardCore"]),
        .library(name: "SwitchyardConfig", targets: ["SwitchyardConfig"]),
        .library(name: "DatapathModel", targets: ["DatapathModel"]),
        .library(name: "DatapathFixtures", targets: ["DatapathFixtures"]),
        .library(name: "SwitchyardStore", targets: ["SwitchyardStore"]),
        .library(name: "SwitchyardBGP", targets: ["SwitchyardBGP"]),
        .library(name: "SwitchyardBFD", targets: ["SwitchyardBFD"]),
        .library(name: "SwitchyardKubernetes", targets: ["SwitchyardKubernetes"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
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
        // I/O: the accept loop shared by the agent's servers and the lab's, and the one client connect.
        .target(
            name: "SwitchyardNet",
            dependencies: [
                "SwitchyardCore", "CSwitchyardTCP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // I/O: the flow store's client — RESP2 over SwiftNIO, written here because no Swift Redis
        // client is available on these machines: pipelining, AUTH, pub/sub, typed error replies;
        // connections live in their caller's task group; TLS (NIOSSL); Sentinel discovery.
        .target(
            name: "SwitchyardStore",
            dependencies: [
                "SwitchyardCore", "SwitchyardNet",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .testTarget(name: "SwitchyardStoreTests", dependencies: ["SwitchyardStore"]),
        // Pure: health-check state machines, stable id allocation, desired tables, status model.
        .target(name: "SwitchyardControl", dependencies: ["SwitchyardCore", "DatapathModel"]),
        // I/O: the LB-node agent (datapath programming, health probes, BGP, metrics, admin API).
        .target(
            name: "SwitchyardAgent",
            dependencies: [
                "SwitchyardControl", "SwitchyardDatapath", "SwitchyardConfig", "SwitchyardCore", "DatapathModel",
                "SwitchyardNet",
                "SwitchyardStore", "SwitchyardBGP", "SwitchyardBGPSpeaker", "SwitchyardBFD", "SwitchyardBFDSession",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        // Wiring: the network-namespace lab (topology, agents, traffic, scenarios).
        .target(
            name: "SwitchyardLab",
            dependencies: [
                "SwitchyardDatapath", "SwitchyardCore", "SwitchyardControl", "SwitchyardNet", "DatapathModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .testTarget(
            name: "SwitchyardLabTests",
            dependencies: ["SwitchyardLab", "SwitchyardAgent", "SwitchyardConfig", "DatapathModel"]),
        .testTarget(name: "SwitchyardControlTests", dependencies: ["SwitchyardControl", "SwitchyardConfig"]),
        // The agent's decisions (AgentState, FlowSyncStateMachine) driven by events and a manual clock.
        .testTarget(name: "AgentStateTests", dependencies: ["SwitchyardControl", "SwitchyardCore", "DatapathModel"]),
        .target(name: "DatapathFixtures", dependencies: ["DatapathModel", "SwitchyardConfig", "Yams"]),
        .testTarget(
            name: "SwitchyardDatapathTests", dependencies: ["SwitchyardDatapath", "DatapathFixtures", "DatapathModel"]),
        .executableTarget(
            name: "switchyard",
            dependencies: [
                "SwitchyardCore", "SwitchyardConfig", "DatapathModel", "SwitchyardDatapath", "DatapathFixtures",
                "SwitchyardControl", "SwitchyardAgent", "SwitchyardLab", "SwitchyardController", "SwitchyardKubeClient",
                "SwitchyardKubernetes", "SwitchyardKubeNode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // Pure: the BGP-4 codec (RFC 4271, 4760, 6793, 7606, 8092, 9003) and the session state machine
        // with the route diff. No sockets or clocks: ByteBuffer in and out, time and events as inputs.
        .target(
            name: "SwitchyardBGP",
            dependencies: [
                "SwitchyardCore",
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        .testTarget(name: "SwitchyardBGPTests", dependencies: ["SwitchyardBGP"]),
        // The two socket calls Glibc does not export to Swift: TCP-MD5 (struct tcp_md5sig) and setns.
        .target(name: "CSwitchyardTCP"),
        // I/O: the BGP speaker — one NIO session per peer executing SwitchyardBGP's state machine,
        // TCP-MD5, source address, a network namespace per peer if asked; routes set declaratively.
        .target(
            name: "SwitchyardBGPSpeaker",
            dependencies: [
                "SwitchyardBGP", "SwitchyardCore", "SwitchyardNet", "CSwitchyardTCP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Interop against BIRD and FRR in network namespaces (root); skips with a message otherwise.
        .testTarget(
            name: "SwitchyardBGPSpeakerTests",
            dependencies: [
                "SwitchyardBGPSpeaker", "SwitchyardBGP", "SwitchyardCore", "CSwitchyardTCP",
                // The agent's announcement path (AgentState → AgentBGP → speaker) against BIRD, with BFD.
                "SwitchyardAgent", "SwitchyardControl", "SwitchyardBFD", "SwitchyardBFDSession",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Pure: BFD (RFC 5880 asynchronous mode): the control packet codec with the reception checks
        // of §6.8.6 and the session state machine. Time and randomness are inputs.
        .target(name: "SwitchyardBFD", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "SwitchyardBFDTests", dependencies: ["SwitchyardBFD"]),
        // recvmsg with the received TTL / hop limit (RFC 5881 §5), which NIO does not report.
        .target(name: "CSwitchyardUDP"),
        // I/O: BFD sessions (RFC 5881 single hop) executing SwitchyardBFD's state machine: UDP 3784,
        // TTL 255 both ways, a source address, a network namespace per session if asked.
        .target(
            name: "SwitchyardBFDSession",
            dependencies: [
                "SwitchyardBFD", "SwitchyardCore", "SwitchyardNet", "CSwitchyardUDP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Loopback tests of the executor, and interop against BIRD's and FRR's bfdd in network
        // namespaces (root); those skip with a message otherwise.
        .testTarget(
            name: "SwitchyardBFDSessionTests",
            dependencies: [
                "SwitchyardBFDSession", "SwitchyardBFD", "SwitchyardCore", "SwitchyardBGPSpeaker", "SwitchyardBGP",
                "CSwitchyardUDP",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "SwitchyardCoreTests", dependencies: ["SwitchyardCore"]),
        // Pure: typed subsets of the Kubernetes objects Switchyard reads and writes, the address
        // allocator and the leader-election state machine. Time is an input; no I/O.
        .target(name: "SwitchyardKubernetes", dependencies: ["SwitchyardCore"]),
        .testTarget(name: "SwitchyardKubernetesTests", dependencies: ["SwitchyardKubernetes", "SwitchyardCore"]),
        // I/O: a small Kubernetes API client over AsyncHTTPClient (no Swift Kubernetes client is
        // available on these machines): kubeconfig and in-cluster config, typed verbs, watch, reflector.
        .target(
            name: "SwitchyardKubeClient",
            dependencies: [
                "SwitchyardKubernetes", "SwitchyardCore", "Yams",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // I/O: `switchyard controller` — executes the leader elector's and the allocator's actions.
        .target(
            name: "SwitchyardController",
            dependencies: [
                "SwitchyardKubeClient", "SwitchyardKubernetes", "SwitchyardCore", "SwitchyardNet",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // I/O: the node side of Kubernetes — the LB agent's config source (Services and EndpointSlices) and
        // `switchyard endpoint-agent` (pods as DSR backends). Executes the pure translators in SwitchyardKubernetes.
        .target(
            name: "SwitchyardKubeNode",
            dependencies: [
                "SwitchyardKubeClient", "SwitchyardKubernetes", "SwitchyardCore", "SwitchyardConfig", "SwitchyardAgent",
                "SwitchyardDatapath",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Against the test API server (Tests/kubernetes/apiserver, Python) with its real TLS and tokens,
        // kubectl and the Python client: the client, and the controller end to end.
        .testTarget(
            name: "SwitchyardKubeClientTests",
            dependencies: [
                "SwitchyardKubeClient", "SwitchyardKubernetes", "SwitchyardController", "SwitchyardKubeNode",
                "SwitchyardConfig", "SwitchyardCore",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "SwitchyardConfigTests", dependencies: ["SwitchyardConfig"]),
        .testTarget(
            name: "DatapathModelTests", dependencies: ["DatapathModel", "DatapathFixtures", "SwitchyardConfig"]),
    ],
    swiftLanguageModes: [.v6]
)
