import Foundation
import SwitchyardKubernetes

import struct SwitchyardCore.ConfigSpec
import struct SwitchyardCore.NodeSpec

/// The Kubernetes watch path's fuzz entry, shared by the libFuzzer target (Fuzz/) and the test suite
/// (symlinked into Tests/SwitchyardKubernetesTests). The input is a watch response body from a
/// server we do not trust; its first octet picks how the transport cuts it into chunks. Every line
/// is decoded as a Service, AddressPool and Namespace event, and every object that decodes goes
/// into a running allocator (pool ranges, selectors and annotations are parsed there), which must
/// never trap and never give one address to two Services that do not share it.
public enum KubeFuzzEntry {
    public static func watch(_ input: [UInt8]) {
        guard let first = input.first else { return }
        let body = input.dropFirst()
        let chunk = Int(first % 64) + 1
        var split = WatchLineSplitter(limit: 1 << 16)
        var whole = WatchLineSplitter(limit: 1 << 16)
        var lines: [[UInt8]] = []
        var start = body.startIndex
        var failed = false
        while start < body.endIndex, !failed {
            let end = body.index(start, offsetBy: chunk, limitedBy: body.endIndex) ?? body.endIndex
            do { lines += try split.append(body[start..<end]) } catch { failed = true }
            start = end
        }
        if !failed {
            if let last = split.finish() { lines.append(last) }
            // The cut does not change the lines.
            var reference = (try? whole.append(body)) ?? []
            if let last = whole.finish() { reference.append(last) }
            check(reference == lines, "chunking changed the lines")
        }
        var allocator = AddressAllocator()
        let now = KubeTime(seconds: 1_800_000_000)
        _ = allocator.handle(.poolsListed([]), at: now)
        _ = allocator.handle(.namespacesListed([]), at: now)
        _ = allocator.handle(.servicesListed([]), at: now)
        var services: [NamespacedName: Service] = [:]
        for line in lines {
            if let event = try? WatchEvent<Service>.decode(line: line) {
                switch event {
                case .added(let service), .modified(let service):
                    services[NamespacedName(service)] = service
                    _ = allocator.handle(.serviceUpserted(service), at: now)
                case .deleted(let service):
                    services[NamespacedName(service)] = nil
                    _ = allocator.handle(.serviceDeleted(NamespacedName(service)), at: now)
                case .bookmark, .error: break
                }
            }
            if case .added(let pool)? = try? WatchEvent<AddressPool>.decode(line: line) {
                _ = allocator.handle(.poolUpserted(pool), at: now)
            }
            if case .added(let namespace)? = try? WatchEvent<Namespace>.decode(line: line) {
                _ = allocator.handle(.namespaceUpserted(namespace), at: now)
            }
        }
        nodeSide(lines)
        var holders: [IPAddressKey: [NamespacedName]] = [:]
        for (key, addresses) in allocator.assignments {
            for address in addresses { holders[IPAddressKey(text: "\(address)"), default: []].append(key) }
        }
        for (address, keys) in holders where keys.count > 1 {
            let sharingKeys = Set(keys.map { services[$0]?.metadata.annotations?[SwitchyardNames.allowSharedIP] })
            check(
                sharingKeys.count == 1 && !sharingKeys.contains(nil), "\(address.text) held by \(keys) without sharing")
        }
    }

    /// The same lines as an LB node and an endpoint agent see them (Services, EndpointSlices, pools): the
    /// translation must never trap, must keep the node's own settings, and the services it keeps must be unique.
    static func nodeSide(_ lines: [[UInt8]]) {
        var objects = ClusterObjects()
        objects.apply(.servicesListed([]))
        objects.apply(.slicesListed([]))
        objects.apply(.poolsListed([]))
        for line in lines {
            if let event = try? WatchEvent<Service>.decode(line: line) {
                switch event {
                case .added(let service), .modified(let service): objects.apply(.serviceUpserted(service))
                case .deleted(let service): objects.apply(.serviceDeleted(service))
                case .bookmark, .error: break
                }
            }
            if let event = try? WatchEvent<EndpointSlice>.decode(line: line) {
                switch event {
                case .added(let slice), .modified(let slice): objects.apply(.sliceUpserted(slice))
                case .deleted(let slice): objects.apply(.sliceDeleted(slice))
                case .bookmark, .error: break
                }
            }
            if case .added(let pool)? = try? WatchEvent<AddressPool>.decode(line: line) {
                objects.apply(.poolUpserted(pool))
            }
        }
        let translated = LBServiceTranslator().translate(objects)
        let node = ConfigSpec(node: NodeSpec(name: "lb1", ipv4Source: "10.0.0.11", interface: "eth0"), services: [])
        let assembly = NodeConfigAssembler.assemble(node: node, services: translated)
        guard let config = assembly.config else { return check(false, "the node's settings were lost") }
        check(Set(config.services.map(\.key)).count == config.services.count, "one service key twice")
        for (pod, plan) in PodPlanner(nodeName: "w1").plans(objects) {
            check(plan.podAddress == pod && !plan.addresses.isEmpty, "an empty plan for \(pod)")
        }
    }

    struct IPAddressKey: Hashable { var text: String }

    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError(message()) }
    }
}
