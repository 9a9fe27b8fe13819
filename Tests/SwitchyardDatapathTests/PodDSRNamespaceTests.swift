import DatapathModel
import Foundation
import Glibc
import SwitchyardABI
import SwitchyardCore
import Testing

@testable import SwitchyardDatapath

/// PodDSR and PodNamespaceFinder in real network namespaces this suite makes (names
/// "sytest<hex>-…", removed in `defer`): a "pod" and a "peer" joined by a veth pair. Needs root.
@Suite(.enabled(if: BPFProbe.available, BPFProbe.skipMessage), .serialized)
struct PodDSRNamespaceTests {
    static let vip4 = IPAddress("10.200.0.10")!
    static let vip6 = IPAddress("2001:db8:200::10")!
    static let podAddress = IPAddress("10.77.0.2")!

    static func uniquePrefix() -> String { "sytest\(String(UInt32.random(in: 0...UInt32.max), radix: 16))" }

    /// `ip` processes spawned from a thread inside a namespace act there (PodDSR relies on it).
    @Test func commandsSpawnedInsideActInTheNamespace() throws {
        let ns = try NetworkNamespace(exactName: "\(Self.uniquePrefix())-spawn")
        defer { ns.delete() }
        try ns.exec(["ip", "addr", "add", "10.79.0.1/32", "dev", "lo"])
        let seen = try NetworkNamespace.inside(path: "/run/netns/\(ns.name)") { try DSRHostSetup.loopbackAddresses() }
        #expect(seen.contains(IPAddress("10.79.0.1")!))
        #expect(!(try DSRHostSetup.loopbackAddresses().contains(IPAddress("10.79.0.1")!)), "and home again")
    }

    @Test func pinNamesFollowTheNamespaceFile() {
        #expect(PodDSR.pinName("/var/run/netns/cni-0f1e-22") == "cni-0f1e-22")
        #expect(PodDSR.pinName("/var/run/netns/7c3a9f2e-1b") == "7c3a9f2e-1b")
        #expect(PodDSR.pinName("/proc/4242/ns/net") == "pid-4242")
        #expect(PodDSR.pinName("/run/netns/a.b c") == "a_b_c")
        #expect(PodDSR.pinPath(namespacePath: "/run/netns/x", pinDirectory: "/sys/fs/bpf/p") == "/sys/fs/bpf/p/x")
    }

    /// The pod and its peer; the pod has IPv4 and IPv6 default routes via the peer.
    struct Pair {
        let pod: NetworkNamespace
        let peer: NetworkNamespace
        var podPath: String { "/run/netns/\(pod.name)" }

        init(prefix: String) throws {
            pod = try NetworkNamespace(exactName: "\(prefix)-pod")
            peer = try NetworkNamespace(exactName: "\(prefix)-peer")
            try peer.exec([
                "ip", "link", "add", "name", "p0", "type", "veth", "peer", "name", "eth0", "netns", pod.name,
            ])
            try peer.exec(["ip", "addr", "add", "10.77.0.1/24", "dev", "p0"])
            try peer.exec(["ip", "addr", "add", "2001:db8:77::1/64", "dev", "p0", "nodad"])
            try peer.exec(["ip", "link", "set", "dev", "p0", "up"])
            try pod.exec(["ip", "addr", "add", "10.77.0.2/24", "dev", "eth0"])
            try pod.exec(["ip", "addr", "add", "2001:db8:77::2/64", "dev", "eth0", "nodad"])
            try pod.exec(["ip", "link", "set", "dev", "eth0", "up"])
            // veth hands the peer partial checksums (CHECKSUM_PARTIAL); without tx offload the pod's
            // kernel completes them after tc egress, so the peer sees the checksum as a wire would.
            try pod.exec(["ethtool", "-K", "eth0", "tx", "off"])
            try pod.exec(["ip", "route", "add", "default", "via", "10.77.0.1", "dev", "eth0"])
            try pod.exec(["ip", "-6", "route", "add", "default", "via", "2001:db8:77::1", "dev", "eth0"])
        }

        func delete() {
            pod.delete()
            peer.delete()
        }
    }

    /// What the pod looks like, read inside it.
    struct Observed: Equatable {
        var loopback: Set<IPAddress>
        var managed: Set<IPAddress>
        var ingress: UInt32?
        var egress: UInt32?
        var advmss4: Int?
        var advmss6: Int?
        var sysctls: [String]

        init(_ pair: Pair) throws {
            (loopback, managed, ingress, egress, advmss4, advmss6, sysctls) = try NetworkNamespace.inside(
                path: pair.podPath
            ) {
                func advmss(_ flag: String) throws -> Int? {
                    let text = try NetworkNamespace.run(["ip", flag, "route", "show", "table", "4242"])
                    let words = text.split(whereSeparator: \.isWhitespace)
                    return words.firstIndex(of: "advmss").flatMap { Int(words[$0 + 1]) }
                }
                let sysctls = [
                    "all/rp_filter", "default/rp_filter", "lo/rp_filter", "eth0/rp_filter", "all/arp_ignore",
                    "all/arp_announce",
                ].map {
                    ((try? String(contentsOfFile: "/proc/sys/net/ipv4/conf/\($0)", encoding: .utf8)) ?? "?")
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                }
                return (
                    try DSRHostSetup.loopbackAddresses(), try DSRHostSetup.ruleSources(),
                    try TCAttachment.query(interface: "eth0", direction: .ingress),
                    try TCAttachment.query(interface: "eth0", direction: .egress), try advmss("-4"), try advmss("-6"),
                    sysctls
                )
            }
        }
    }

    @Test func applyIsIdempotentShrinksAndRemoves() throws {
        let prefix = Self.uniquePrefix()
        let pair = try Pair(prefix: prefix)
        defer { pair.delete() }
        let bpffs = "/tmp/\(prefix)-bpf"
        try BPFFS.ensureMounted(bpffs)
        defer { BPFFS.unmount(bpffs) }
        let full = PodDSR.Plan(
            namespacePath: pair.podPath, podAddress: Self.podAddress, addresses: [Self.vip4, Self.vip6],
            mappings: [
                DecapPortMapping(vip: Self.vip4, proto: .tcp, servicePort: 80, targetPort: 8080),
                DecapPortMapping(vip: Self.vip6, proto: .tcp, servicePort: 80, targetPort: 8080),
            ], guePort: 6080, pathMTU: 1500, pinDirectory: "\(bpffs)/pods")

        let applied = try PodDSR.apply(full)
        #expect(applied.interface == "eth0")
        #expect(applied.pinPath == "\(bpffs)/pods/\(pair.pod.name)")
        #expect(!applied.changes.isEmpty && applied.warnings.isEmpty, "\(applied.warnings)")
        var seen = try Observed(pair)
        #expect(seen.loopback.isSuperset(of: [Self.vip4, Self.vip6]))
        #expect(seen.managed == [Self.vip4, Self.vip6])
        #expect(seen.ingress == applied.ingressProgramID && seen.egress == applied.egressProgramID)
        #expect(seen.advmss4 == 1500 - 40 - 28 && seen.advmss6 == 1500 - 60 - 28, "GUE over the pod's IPv4")
        #expect(seen.sysctls == ["0", "0", "0", "0", "1", "2"])
        #expect(!(try InterfaceAddresses.current().contains { $0.address == Self.vip4 }), "nothing on the host")

        let again = try PodDSR.apply(full)
        #expect(again.changes == [], "the same plan changes nothing")
        #expect(again.ingressProgramID == applied.ingressProgramID && again.egressProgramID == applied.egressProgramID)
        #expect(try Observed(pair) == seen)

        var smaller = full
        smaller.addresses = [Self.vip4]
        smaller.mappings = [full.mappings[0]]
        smaller.guePort = nil
        let shrunk = try PodDSR.apply(smaller)
        #expect(shrunk.changes.contains("address \(Self.vip6)/128 removed from lo"), "\(shrunk.changes)")
        seen = try Observed(pair)
        #expect(!seen.loopback.contains(Self.vip6) && seen.loopback.contains(Self.vip4))
        #expect(seen.managed == [Self.vip4])
        #expect(seen.advmss4 == 1500 - 40 - 20 && seen.advmss6 == nil, "IPIP now; no IPv6 address, no IPv6 table")
        let pinned = try DecapDatapath(pinDirectory: shrunk.pinPath)
        #expect(try pinned.portMappings() == smaller.mappings)
        #expect(try pinned.config.lookup(UInt32(0), as: sy_decap_config.self)?.gue_port == 0)

        try sendMappedSYN(pair, expectMSS: 1500 - 40 - 20)

        let removed = try PodDSR.remove(smaller)
        #expect(!removed.isEmpty)
        seen = try Observed(pair)
        #expect(!seen.loopback.contains(Self.vip4) && seen.managed.isEmpty)
        #expect(seen.ingress == nil && seen.egress == nil && seen.advmss4 == nil)
        #expect(access(shrunk.pinPath, F_OK) != 0, "pins gone")
        #expect(try PodDSR.remove(smaller) == [], "removing twice changes nothing")
    }

    /// Real traffic: an IPIP-encapsulated SYN to VIP:80 from the peer reaches a listener on 8080 in
    /// the pod, and the SYN-ACK leaves from VIP:80 with a valid checksum and the MSS of table 4242.
    func sendMappedSYN(_ pair: Pair, expectMSS: Int) throws {
        let listener = try NetworkNamespace.inside(path: pair.podPath) { try Sockets.tcpListener(port: 8080) }
        defer { close(listener) }
        let capture = try NetworkNamespace.inside(path: "/run/netns/\(pair.peer.name)") { try Sockets.packetCapture() }
        defer { close(capture) }
        let sender = try NetworkNamespace.inside(path: "/run/netns/\(pair.peer.name)") { try Sockets.rawIPIP() }
        defer { close(sender) }
        let syn = try PacketSpec.parse("tcp 10.77.0.1:40000 > 10.200.0.10:80 S").ipPacket()
        try Sockets.send(sender, syn, to: IPv4Address(10, 77, 0, 2))
        let synAck = try Sockets.receive(capture, seconds: 5) { frame in
            guard let l4 = PodFrames.l4(frame), l4.proto == 6, frame[26..<30].elementsEqual([10, 200, 0, 10]) else {
                return false
            }
            return frame[l4.offset + 13] & 0x12 == 0x12
        }
        guard let synAck, let l4 = PodFrames.l4(synAck) else {
            Issue.record("no SYN-ACK from the VIP reached the peer")
            return
        }
        #expect(l4.sourcePort == 80 && l4.destinationPort == 40000, "reply from the service port")
        #expect(l4.verification == 0, "checksum verifies")
        #expect(Sockets.tcpMSS(synAck, at: l4.offset) == expectMSS)
    }

    @Test func finderFindsTheNamespaceHoldingTheAddress() throws {
        let prefix = Self.uniquePrefix()
        let namespaces = try (0..<3).map { try NetworkNamespace(exactName: "\(prefix)-f\($0)") }
        defer { for ns in namespaces { ns.delete() } }
        for (i, ns) in namespaces.enumerated() { try ns.exec(["ip", "addr", "add", "10.78.0.\(i)/32", "dev", "lo"]) }
        let wanted = IPAddress("10.78.0.1")!
        #expect(
            try PodNamespaceFinder.find(address: wanted, directory: "/run/netns", namePrefix: "\(prefix)-f")
                == "/run/netns/\(prefix)-f1")
        #expect(
            try PodNamespaceFinder.find(address: IPAddress("10.78.0.9")!, directory: "/run/netns", namePrefix: prefix)
                == nil)
        #expect(try PodNamespaceFinder.find(address: wanted, directory: "/run/netns", namePrefix: "\(prefix)-x") == nil)

        // A runtime's directory with things that are not namespaces: skipped, not fatal.
        let directory = "/tmp/\(prefix)-netns"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "not a namespace".write(toFile: "\(directory)/a-junk", atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "\(directory)/b-dir", withIntermediateDirectories: true)
        for (i, ns) in namespaces.enumerated() {
            try FileManager.default.createSymbolicLink(
                atPath: "\(directory)/cni-\(i)", withDestinationPath: "/run/netns/\(ns.name)")
        }
        #expect(try PodNamespaceFinder.find(address: wanted, directory: directory) == "\(directory)/cni-1")
        #expect(throws: (any Error).self) {
            try PodNamespaceFinder.find(address: wanted, directory: "\(directory)/none")
        }
    }

    @Test func stalePinsOfGonePodsAreRemoved() throws {
        let prefix = Self.uniquePrefix()
        let bpffs = "/tmp/\(prefix)-bpf"
        try BPFFS.ensureMounted(bpffs)
        defer { BPFFS.unmount(bpffs) }
        // The bpffs root: where the kernel preloads files (maps.debug, progs.debug), which stay.
        let pods = bpffs
        let live = "/var/run/netns/cni-live"
        _ = try DecapDatapath(pinDirectory: PodDSR.pinPath(namespacePath: live, pinDirectory: pods))
        _ = try DecapDatapath(
            pinDirectory: PodDSR.pinPath(namespacePath: "/var/run/netns/cni-gone", pinDirectory: pods))
        #expect(PodDSR.unpinStale(pinDirectory: pods, liveNamespacePaths: [live]) == ["\(pods)/cni-gone"])
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: pods))
        #expect(left.contains("cni-live") && !left.contains("cni-gone"), "\(left)")
    }

    @Test func plansThatCannotWorkAreRefused() throws {
        var plan = PodDSR.Plan(namespacePath: "/nonexistent", podAddress: Self.podAddress, addresses: [Self.vip6])
        #expect(throws: PodDSR.PlanError.mixedFamilyWithoutGUE(Self.vip6, podAddress: Self.podAddress)) {
            try PodDSR.apply(plan)
        }
        plan.addresses = [Self.vip4]
        plan.pathMTU = 100
        #expect(throws: PodDSR.PlanError.pathMTUTooSmall(100)) { try PodDSR.apply(plan) }
    }
}
