/// Ports for the test servers, below the kernel's ephemeral range (32768–60999 here): a server
/// given a port the kernel also hands out as the local end of outgoing connections fails to
/// bind when one is in use ("Address already in use"), and a readiness probe to such a port
/// with nothing listening can connect to itself (TCP self-connect) and report a server that is
/// not there — seen as a Sentinel fixture whose primary never came up.
enum TestPorts {
    /// A single server's port.
    static func server() -> Int { Int.random(in: 10000...19999) }

    /// The first of `count` consecutive cluster-node ports; their bus ports (+10000) stay below
    /// the ephemeral range too, and clear of `server()`'s.
    static func clusterBase(count: Int) -> Int { Int.random(in: 20000...(22700 - count)) }
}
