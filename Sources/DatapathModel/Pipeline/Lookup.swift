import SwitchyardCore

/// Stage 2 (bpf/lb/lookup.h): which service a packet is for.
enum Lookup {
    static func service(_ tables: DatapathTables, vip: IPAddress, port: UInt16, proto: UInt8)
        -> (ServiceKey, DatapathTables.ServiceEntry)?
    {
        guard let l4 = L4Protocol(rawValue: proto) else { return nil }
        let key = ServiceKey(vip: vip, port: port, proto: l4)
        guard let entry = tables.services[key] else { return nil }
        return (key, entry)
    }
}
