import ArgumentParser
import SwitchyardKubeClient
import SwitchyardKubernetes

/// How a command reaches the Kubernetes API (controller, agent --kubernetes, endpoint-agent).
struct KubeAccessOptions: ParsableArguments {
    @Option(help: "A kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config).") var kubeconfig: String?
    @Option(help: "The kubeconfig context (default: its current-context).") var context: String?

    /// The connection, or a one-line error naming the command and exit status 1.
    func connection(for command: String) throws -> KubeConnection {
        do {
            return try KubeConnection.resolve(kubeconfig: kubeconfig, context: context)
        } catch {
            printError("\(command): \(error)")
            throw ExitCode(1)
        }
    }
}

/// Which Services are Switchyard's.
struct ServiceClassOptions: ParsableArguments {
    @Option(help: "The spec.loadBalancerClass served.")
    var loadBalancerClass = SwitchyardGroup.defaultLoadBalancerClass
    @Flag(help: "Also serve LoadBalancer Services with no loadBalancerClass.") var serveUnclassedServices = false

    func allocator(ipMode: IngressIPMode = .proxy) -> AllocatorConfiguration {
        AllocatorConfiguration(
            loadBalancerClass: loadBalancerClass, servesServicesWithoutClass: serveUnclassedServices, ipMode: ipMode)
    }
}
