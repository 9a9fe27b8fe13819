import DatapathFixtures
import DatapathModel
import Foundation
import SwitchyardABI
import SwitchyardCore
import Testing

@testable import SwitchyardDatapath

/// Attaching to real interfaces (in a namespace the test makes and removes) and the backend's
/// decap program. Needs root.
@Suite(.enabled(if: BPFProbe.available, BPFProbe.skipMessage), .serialized)
struct AttachAndDecapTests {
    @Test func xdpNativeOnVethGenericOnLoopbackAndDetach() throws {
        let ns = try NetworkNamespace(prefix: "sy-test")
        defer { ns.delete() }
        try ns.exec(["ip", "link", "add", "name", "a", "type", "veth", "peer", "name", "b"])
        try ns.exec(["ip", "link", "set", "dev", "a", "up"])
        try ns.exec(["ip", "link", "set", "dev", "b", "up"])
        let datapath = try LBDatapath(options: .init(flowCapacity: 1024))
        try ns.inside {
            #expect(try XDPAttachment.attach(program: datapath.programFD, interface: "a") == .native)
            #expect(try XDPAttachment.query(interface: "a")?.mode == .native)
            // Attaching again replaces the program atomically (an agent restart does this).
            #expect(try XDPAttachment.attach(program: datapath.passProgramFD, interface: "a") == .native)
            try XDPAttachment.detach(interface: "a")
            #expect(try XDPAttachment.query(interface: "a") == nil)
            // Loopback has no native XDP: refused when native is required, not quietly made generic.
            let notNative = #expect(throws: BPFError.self) {
                try XDPAttachment.attach(program: datapath.programFD, interface: "lo", requireNative: true)
            }
            #expect(notNative?.operation == "attach XDP (native) to lo", "\(notNative.map { "\($0)" } ?? "")")
            #expect(notNative?.errno == EOPNOTSUPP, "\(notNative.map { "\($0)" } ?? "")")
            #expect(try XDPAttachment.attach(program: datapath.programFD, interface: "lo") == .generic)
            try XDPAttachment.detach(interface: "lo")
            let missing = #expect(throws: BPFError.self) {
                try XDPAttachment.attach(program: datapath.programFD, interface: "nonexistent0")
            }
            #expect(
                missing?.operation == "interface nonexistent0" && missing?.errno == ENODEV,
                "\(missing.map { "\($0)" } ?? "")")
        }
    }

    @Test func tcDecapAttachAndDetach() throws {
        let ns = try NetworkNamespace(prefix: "sy-test")
        defer { ns.delete() }
        try ns.exec(["ip", "link", "add", "name", "a", "type", "veth", "peer", "name", "b"])
        let decap = try DecapDatapath()
        try ns.inside {
            try TCAttachment.attachIngress(program: decap.programFD, interface: "a")
            #expect(try TCAttachment.query(interface: "a") != nil)
            try TCAttachment.attachIngress(program: decap.programFD, interface: "a") // replace is fine
            try TCAttachment.detachIngress(interface: "a")
            #expect(try TCAttachment.query(interface: "a") == nil)
        }
    }

    /// The model encapsulates, the kernel's decap program strips: the inner packet comes back
    /// byte for byte, with the EtherType of its own family.
    @Test(arguments: [
        "tcp 10.0.1.2:40000 > 10.200.0.10:80 S len=20", // IPIP
        "udp 10.0.1.2:5353 > 10.200.0.53:53 len=30", // GUE over IPv4
        "tcp [2001:db8::2]:40000 > [2001:db8:200::10]:80 S", // IPv6-in-IPv6
        "tcp [2001:db8::2]:40000 > [2001:db8:200::11]:443 S", // GUE, IPv6 in IPv4
        "udp 10.0.1.2:5353 > 10.200.0.53:53 len=1 ipopts=8", // options survive
    ])
    func decapRestoresTheInnerPacket(_ spec: String) throws {
        var tables = DatapathTables(config: SelftestConfig.config())
        let frame = try PacketSpec.parse(spec).frame()
        guard case .tx(let encapsulated) = Pipeline.process(frame, tables: &tables).verdict else {
            Issue.record("model did not forward \(spec)")
            return
        }
        let decap = try DecapDatapath()
        try decap.setGUEPort(6080)
        let run = try TestRun.run(program: decap.programFD, frame: encapsulated)
        #expect(run.action == 0, "TC_ACT_OK")
        #expect(Array(run.output.dropFirst(12)) == Array(frame.dropFirst(12)), "\(FrameDescriber.describe(run.output))")
        #expect(try decap.counts().decapsulated == 1)
    }

    @Test func decapLeavesOtherTrafficAlone() throws {
        let decap = try DecapDatapath()
        for spec in ["tcp 10.0.1.2:40000 > 10.200.0.10:80 S", "udp 10.0.1.2:1 > 10.1.0.21:6080 len=8"] {
            let frame = try PacketSpec.parse(spec).frame()
            let run = try TestRun.run(program: decap.programFD, frame: frame)
            #expect(run.output == frame, "\(spec): GUE port not configured, plain traffic untouched")
        }
        #expect(try decap.counts().decapsulated == 0)
    }
}
