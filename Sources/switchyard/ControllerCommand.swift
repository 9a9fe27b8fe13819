import ArgumentParser
import Foundation
import Logging
import SwitchyardAgent
import SwitchyardController
import SwitchyardKubeClient
import SwitchyardKubernetes
import UnixSignals

struct ControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Give LoadBalancer Services of Switchyard's class addresses from AddressPools (Kubernetes).",
        discussion: """
            One instance is active at a time through a coordination.k8s.io Lease; the others wait. The active one
            lists AddressPools, Namespaces and Services, imports every address Services already hold (oldest
            first), then allocates to the rest, writing status.loadBalancer.ingress and a condition
            switchyard.io/AddressAssigned through the status subresource, with an Event for each change. It exits
            when it loses the lease (the Deployment restarts it). API access: --kubeconfig, $KUBECONFIG, the pod's
            service account, or ~/.kube/config, in that order.
            """)

    @OptionGroup var access: KubeAccessOptions
    @Option(help: "The namespace of the Lease.") var namespace = "switchyard-system"
    @Option(help: "The Lease name.") var leaseName = Lease.controllerLeaseName
    @Option(help: "This instance's name in the Lease (default: $POD_NAME, else host and pid).") var identity: String?
    @OptionGroup var serviceClass: ServiceClassOptions
    @Option(help: "Seconds a lease lasts unrenewed.") var leaseDuration: Double = 15
    @Option(help: "Seconds a leader keeps acting without a successful renewal.") var renewDeadline: Double = 10
    @Option(help: "Seconds between lease attempts.") var retryPeriod: Double = 2
    @Option(help: "host:port for /metrics and /healthz ('' = none).") var metrics = "[::]:9101"
    @Option(help: "The ingress ipMode published: Proxy (default; kube-proxy leaves the address alone) or VIP.")
    var ipMode = "Proxy"

    func run() async throws {
        StructuredLogHandler.bootstrap()
        let logger = Logger(label: "switchyard.controller")
        let connection = try access.connection(for: "controller")
        guard let mode = IngressIPMode(rawValue: ipMode) else {
            printError("controller: --ip-mode: expected Proxy or VIP, got '\(ipMode)'")
            throw ExitCode(1)
        }
        let environment = ProcessInfo.processInfo.environment
        let name = identity ?? environment["POD_NAME"] ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        let options = ControllerOptions(
            namespace: namespace, leaseName: leaseName, identity: name,
            allocator: serviceClass.allocator(ipMode: mode),
            leaseDuration: .milliseconds(Int64(leaseDuration * 1000)),
            renewDeadline: .milliseconds(Int64(renewDeadline * 1000)),
            retryPeriod: .milliseconds(Int64(retryPeriod * 1000)))
        let client = try KubeClient(connection: connection)
        let controller = Controller(client: client, options: options, logger: logger)
        let metricsAddress = metrics
        let outcome: Result<Void, any Error> = await withTaskGroup(of: Result<Void, any Error>?.self) { group in
            group.addTask { await Result(catching: { try await controller.run() }) }
            if !metricsAddress.isEmpty {
                group.addTask {
                    do {
                        try await ControllerHTTPServer(controller: controller, address: metricsAddress, logger: logger)
                            .run()
                        return nil
                    } catch {
                        return .failure(error)
                    }
                }
            }
            group.addTask {
                await TerminationSignal.wait()
                return .success(())
            }
            var first: Result<Void, any Error> = .success(())
            while let next = await group.next() {
                if let next {
                    first = next
                    break
                }
            }
            group.cancelAll()
            return first
        }
        try? await client.shutdown()
        if case .failure(let error) = outcome {
            printError("controller: \(error)")
            throw ExitCode(3)
        }
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}

/// SIGTERM or SIGINT: the controller steps down and releases its lease before exiting.
enum TerminationSignal {
    static func wait() async {
        for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) { return }
    }
}
