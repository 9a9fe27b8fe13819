import SwitchyardABI
import SwitchyardCore

/// The pod's port mappings as the decap and egress programs read them (`PortMapping` is the value).
public typealias DecapPortMapping = PortMapping

extension PortMapping {
    /// Two mappings the stateless programs cannot both honour, with what to change.
    public struct ConflictError: Error, Hashable, Sendable, CustomStringConvertible {
        public var first: DecapPortMapping
        public var second: DecapPortMapping

        public var description: String {
            if first.servicePort == second.servicePort {
                return "port mappings \(first) and \(second) send one service port to two target ports: "
                    + "keep one of them"
            }
            return "port mappings \(first) and \(second) share target port \(first.targetPort): replies from it "
                + "cannot be told apart; give each service port its own target port in this pod"
        }
    }

    /// The two tables the programs read, keyed as the ABI says: inner destination
    /// (vip, servicePort, proto) → targetPort, and reply source (vip, targetPort, proto) →
    /// servicePort. Identity mappings take no entry but still claim their ports, so a mapping
    /// 443→80 beside 80→80 is a conflict (replies from 80 would be ambiguous).
    static func tables(_ mappings: [DecapPortMapping]) throws(ConflictError) -> Tables {
        var byService: [PortEnd: DecapPortMapping] = [:]
        var byTarget: [PortEnd: DecapPortMapping] = [:]
        // Sorted, so the conflict reported does not depend on the order mappings came in.
        let ordered = Set(mappings).sorted()
        for m in ordered {
            let service = PortEnd(address: m.vip, port: m.servicePort, proto: m.proto)
            let target = PortEnd(address: m.vip, port: m.targetPort, proto: m.proto)
            if let other = byService[service] { throw ConflictError(first: other, second: m) }
            if let other = byTarget[target] { throw ConflictError(first: other, second: m) }
            byService[service] = m
            byTarget[target] = m
        }
        var tables = Tables()
        for m in byService.values where m.servicePort != m.targetPort {
            tables.ingress[PortEnd(address: m.vip, port: m.servicePort, proto: m.proto)] = m.targetPort
            tables.egress[PortEnd(address: m.vip, port: m.targetPort, proto: m.proto)] = m.servicePort
        }
        return tables
    }

    /// One end of a TCP/UDP packet, as `sy_port_key` holds it.
    struct PortEnd: Hashable {
        var address: IPAddress
        var port: UInt16
        var proto: L4Protocol

        var abi: sy_port_key {
            sy_port_key(addr: address.abiWords, port: port.bigEndian, proto: proto.rawValue, family: address.abiFamily)
        }

        init(address: IPAddress, port: UInt16, proto: L4Protocol) {
            self.address = address
            self.port = port
            self.proto = proto
        }

        /// Nil for a key no mapping of ours could have written.
        init?(_ key: sy_port_key) {
            guard let proto = L4Protocol(rawValue: key.proto),
                key.family == UInt8(SY_FAMILY_V4) || key.family == UInt8(SY_FAMILY_V6)
            else { return nil }
            self.init(
                address: IPAddress(abiWords: key.addr, family: key.family), port: UInt16(bigEndian: key.port),
                proto: proto)
        }
    }

    struct Tables: Equatable {
        var ingress: [PortEnd: UInt16] = [:]
        var egress: [PortEnd: UInt16] = [:]
    }
}
