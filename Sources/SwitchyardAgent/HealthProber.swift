import Foundation
import Logging
import NIOCore
import NIOPosix
import SwitchyardControl
import SwitchyardCore
import SwitchyardNet

/// Runs one probe: a TCP connect, or an HTTP/1.1 GET whose status line must match.
/// Returns nil on success, or why it failed.
public enum HealthProbe {
    struct Timeout: Error {}

    public static func run(_ target: ProbeTarget) async -> String? {
        let timeout = target.check.timeoutSeconds
        do {
            return try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask { try await probe(target) }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
                    throw Timeout()
                }
                let result = try await group.next()!
                group.cancelAll()
                return result
            }
        } catch is Timeout {
            return "timeout after \(timeout) s"
        } catch {
            return "\(error)"
        }
    }

    private static func probe(_ target: ProbeTarget) async throws -> String? {
        let timeout = Duration.milliseconds(Int64(target.check.timeoutSeconds * 1000))
        let channel = try await ConnectionClient.connect(
            host: "\(target.address)", port: Int(target.port),
            timeout: timeout)
        return try await channel.executeThenClose { inbound, outbound in
            guard target.check.kind == .http else { return nil }
            let host = target.address.family == .v6 ? "[\(target.address)]" : "\(target.address)"
            try await outbound.write(
                ByteBuffer(
                    string:
                        "GET \(target.check.path) HTTP/1.1\r\nHost: \(host)\r\nConnection: "
                        + "close\r\nUser-Agent: switchyard-health\r\n\r\n"
                ))
            var response = ""
            for try await chunk in inbound {
                response += String(buffer: chunk)
                if response.contains("\r\n") { break }
            }
            let statusLine = response.split(separator: "\r\n").first.map(String.init) ?? ""
            let parts = statusLine.split(separator: " ")
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
                return "not an HTTP response: \(statusLine.prefix(40))"
            }
            return status == target.check.expectStatus ? nil : "HTTP \(status), expected \(target.check.expectStatus)"
        }
    }
}

/// Runs the probes the agent's state asks for (each set replaces the last) and reports every
/// result.
struct HealthProbeLoop {
    let agent: Agent

    func run() async {
        var running: [ProbeTarget: Task<Void, Never>] = [:]
        for await targets in agent.probeTargetSets {
            let wanted = Set(targets)
            for (target, task) in running where !wanted.contains(target) {
                task.cancel()
                running[target] = nil
            }
            for target in targets where running[target] == nil {
                running[target] = Task {
                    while !Task.isCancelled {
                        let started = ContinuousClock.now
                        let failure = await HealthProbe.run(target)
                        guard !Task.isCancelled else { return }
                        await agent.probeReported(
                            target, ok: failure == nil, detail: failure ?? "ok", startedAt: started)
                        try? await Task.sleep(for: .milliseconds(Int(target.check.intervalSeconds * 1000)))
                    }
                }
            }
        }
        for task in running.values { task.cancel() }
    }
}
