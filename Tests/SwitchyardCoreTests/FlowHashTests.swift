import Foundation
import SwitchyardABI
import Testing

@testable import SwitchyardCore

/// The flow hash is specified in switchyard_abi.h; the vectors were computed by its C
/// implementation. Swift must agree with them, and with the C function on random keys.
@Suite struct FlowHashTests {
    struct Vector: CustomStringConvertible {
        var key: FlowKey
        var hash: UInt64
        var slot65537: UInt32
        var slot655373: UInt32
        var description: String { key.description }
    }

    struct MalformedVector: Error, CustomStringConvertible {
        var line: Int
        var text: Substring
        var description: String {
            "flow-hash-vectors.txt line \(line): '\(text)' is not SRC DST SPORT DPORT PROTO 0xHASH SLOT SLOT"
        }
    }

    static func vectors() throws -> [Vector] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/flow-hash-vectors.txt")
        let text = try String(contentsOf: url, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        return try lines.filter { !$0.element.isEmpty && !$0.element.hasPrefix("#") }.map { number, line in
            let f = line.split(separator: " ").map(String.init)
            guard f.count == 8, let source = IPAddress(f[0]), let destination = IPAddress(f[1]),
                let sourcePort = UInt16(f[2]), let destinationPort = UInt16(f[3]), let proto = UInt8(f[4]),
                f[5].hasPrefix("0x"), let hash = UInt64(f[5].dropFirst(2), radix: 16),
                let slot65537 = UInt32(f[6]), let slot655373 = UInt32(f[7])
            else {
                throw MalformedVector(line: number + 1, text: line)
            }
            return Vector(
                key: FlowKey(
                    source: source, destination: destination, sourcePort: sourcePort,
                    destinationPort: destinationPort, proto: proto),
                hash: hash, slot65537: slot65537, slot655373: slot655373)
        }
    }

    @Test func knownAnswers() throws {
        let vectors = try Self.vectors()
        // Fewer means the file lost lines: the known-answer check would prove little.
        #expect(vectors.count >= 10, "\(vectors.count) vectors")
        for v in vectors {
            #expect(v.key.hash == v.hash, "\(v)")
            #expect(SwitchyardHash.ringSlot(v.key.hash, ringSize: 65537) == v.slot65537, "\(v)")
            #expect(SwitchyardHash.ringSlot(v.key.hash, ringSize: 655373) == v.slot655373, "\(v)")
        }
    }

    /// The header's own C function, called through the ABI module, on random keys.
    @Test func agreesWithCImplementation() {
        var rng = SplitMix64(seed: 42)
        for i in 0..<5000 {
            let v6 = i % 2 == 1
            let src: IPAddress =
                v6
                ? .v6(IPv6Address(high: rng.next(), low: rng.next()))
                : .v4(IPv4Address(UInt32(truncatingIfNeeded: rng.next())))
            let dst: IPAddress =
                v6
                ? .v6(IPv6Address(high: rng.next(), low: rng.next()))
                : .v4(IPv4Address(UInt32(truncatingIfNeeded: rng.next())))
            let key = FlowKey(
                source: src, destination: dst, sourcePort: UInt16(truncatingIfNeeded: rng.next()),
                destinationPort: UInt16(truncatingIfNeeded: rng.next()), proto: UInt8(truncatingIfNeeded: rng.next()))
            var cKey = sy_flow_key()
            withUnsafeMutableBytes(of: &cKey) { raw in
                for (index, byte) in key.bytes.enumerated() { raw[index] = byte }
            }
            let cHash = sy_flow_hash(&cKey)
            #expect(cHash == key.hash, "\(key)")
            #expect(sy_ring_slot(cHash, 65537) == SwitchyardHash.ringSlot(key.hash, ringSize: 65537))
        }
    }

    @Test func layoutMatchesHeader() {
        #expect(MemoryLayout<sy_flow_key>.size == 40)
        #expect(MemoryLayout<sy_flow_key>.alignment == 8)
        #expect(MemoryLayout<sy_flow_entry>.size == 8)
        #expect(MemoryLayout<sy_flow_slot>.size == 64)
        #expect(MemoryLayout<sy_flow_set>.size == 64 * (1 + Int(SY_FLOW_WAYS)))
        #expect(MemoryLayout<sy_service_key>.size == 20)
        #expect(MemoryLayout<sy_service>.size == 16)
        #expect(MemoryLayout<sy_backend>.size == 20)
        #expect(MemoryLayout<sy_source_range_key>.size == 24)
        #expect(MemoryLayout<sy_node>.size == 56)
        #expect(MemoryLayout<sy_flow_event>.size == 56)
        #expect(MemoryLayout<sy_vip_addr>.size == 20)
        #expect(MemoryLayout<sy_service_counters>.size == 32)
        #expect(MemoryLayout<sy_backend_counters>.size == 32)
    }

    @Test func slotsSpreadEvenly() {
        // 200k flows over a 1009-slot ring: every slot within 25% of the mean.
        var counts = [Int](repeating: 0, count: 1009)
        for port in 0..<200_000 {
            let key = FlowKey(
                source: .v4(IPv4Address(10, 0, UInt8(port >> 16), UInt8(port >> 8 & 0xff))),
                destination: .v4(IPv4Address(10, 200, 0, 10)), sourcePort: UInt16(truncatingIfNeeded: port),
                destinationPort: 80, proto: 6)
            counts[Int(SwitchyardHash.ringSlot(key.hash, ringSize: 1009))] += 1
        }
        let mean = 200_000.0 / 1009
        #expect(Double(counts.max()!) < mean * 1.25)
        #expect(Double(counts.min()!) > mean * 0.75)
    }
}
