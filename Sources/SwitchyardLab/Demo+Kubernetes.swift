import Foundation
import SwitchyardCore

extension Lab {
    /// `lab demo --kubernetes`: a Service created with kubectl gets an address, its traffic reaches pods
    /// with the client's own address, and a rolling update keeps every connection to a pod that stays.
    public func kubernetesDemo(connections: Int) throws -> String {
        var lines = [
            "", "Switchyard Kubernetes demo — lab \(id), mode \(options.mode.rawValue)",
            "  client ─ router (BGP, ECMP over lb1, lb2) ─ LB nodes (agent --kubernetes, XDP) ─IPIP→ pods on w1, w2",
            "  control plane in the router namespace: the test API server, switchyard controller;"
                + " each worker runs switchyard endpoint-agent",
            "",
            "1. kubectl apply: Service hello (type LoadBalancer, class switchyard.io/lb, port 80 → targetPort 8080)",
        ]
        let address = try applyService(KubernetesLabCluster.Service(name: "hello", mode: options.mode.rawValue))
        lines.append("   the controller assigned \(address) from AddressPool \(KubernetesLabCluster.poolName)")
        let pods = [try startPod("hello"), try startPod("hello")]
        try waitForRouterRoute(ecmp)
        try waitForEndpoints("hello")
        lines.append(
            "2. two pods (\(pods.map { "\($0.name) on w\($0.worker) at \($0.address)" }.joined(separator: ", "))) "
                + "in the EndpointSlice;")
        lines.append(
            "   the LB nodes took them as backends, announced \(address) to the router, and the endpoint agents "
                + "put \(address) and the decap program into each pod")
        let who = try who(address)
        lines.append(
            "3. \(address):80 answered by \(who.backend) on port 8080, which saw the client as \(who.client)"
                + (who.client == "10.77.1.2" ? " — the client's own address (DSR, no SNAT)" : " — NOT the client's"))
        let spread = try http(address, count: 40)
        lines.append(
            "   40 HTTP requests → "
                + spread.perBackend.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        try deleteService("hello")
        for pod in pods { try killPod(pod.name, notice: 0) }
        lines.append("   (Service hello deleted: its address is withdrawn and back in the pool)")
        lines.append("")
        lines.append("4. rolling update of Service web under \(connections) open connections (k8s-rolling-update):")
        let r = try run(.rollingUpdate, connections: connections)
        let staying = r.established - (r.drained ?? 0)
        lines.append(
            "   \(r.established) connections; \(staying) on pods that stayed: \(r.survived) survived; "
                + "\(r.drained ?? 0) on the 4 replaced pods: \(r.terminatingSurvived ?? 0) still answering when "
                + "their pod exited (drained, not cut)")
        lines.append(
            "   unexpected losses: \(r.failed - r.expectedFailed); new connections after the update: "
                + (r.newConnections ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                .joined(separator: ", "))
        lines.append("")
        return lines.joined(separator: "\n")
    }
}
