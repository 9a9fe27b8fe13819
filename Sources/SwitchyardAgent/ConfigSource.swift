import Foundation
import SwitchyardConfig
import SwitchyardCore

/// Why a config source has no usable config right now; each problem is one line for the log
/// (`FILE:LINE: field: what is wrong` for a file).
public struct ConfigSourceError: Error, Sendable, Equatable {
    public var problems: [String]
    public init(problems: [String]) { self.problems = problems }
}

/// Where the agent's desired state comes from: the YAML file today, Kubernetes Services next.
/// The agent asks for the whole desired config; the source says when it may have changed.
public protocol ConfigSource: Sendable {
    /// For logs and status: a path, a cluster, ….
    var description: String { get }
    /// The desired config now, validated, or every reason it is not usable.
    func load() async -> Result<SwitchyardConfig, ConfigSourceError>
    /// Calls `changed` with a trigger description whenever the desired config may have changed,
    /// until the calling task is cancelled.
    func watch(_ changed: @Sendable (String) async -> Void) async
}

/// The YAML file: loaded with `ConfigLoader`, watched by modification time and size.
public struct FileConfigSource: ConfigSource {
    public let path: String
    /// How often the file's metadata is checked.
    public var pollInterval: Duration = .milliseconds(500)

    public init(path: String) { self.path = path }

    public var description: String { path }

    public func load() async -> Result<SwitchyardConfig, ConfigSourceError> {
        ConfigLoader.load(path: path).mapError { ConfigSourceError(problems: $0.errors.map(\.description)) }
    }

    private struct Stamp: Equatable {
        var modified: Date?
        var size: Int?
    }

    private func stamp() -> Stamp? {
        guard let a = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return Stamp(modified: a[.modificationDate] as? Date, size: (a[.size] as? NSNumber)?.intValue)
    }

    public func watch(_ changed: @Sendable (String) async -> Void) async {
        var last = stamp()
        while !Task.isCancelled {
            try? await Task.sleep(for: pollInterval)
            let now = stamp()
            if now != last {
                last = now
                await changed("file changed")
            }
        }
    }
}
