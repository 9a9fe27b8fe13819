import Foundation
import Logging

/// One line per event: `time level label message key=value …`, metadata sorted, to stderr.
/// An operator reconstructs what happened by reading (or grepping) these lines alone.
public struct StructuredLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata.merging(event.metadata ?? [:]) { $1 }
        if let error = event.error { all["error"] = .string("\(error)") }
        let level = event.level
        let message = event.message
        let fields = all.sorted { $0.key < $1.key }.map { key, value in
            let text = "\(value)"
            return text.contains(" ") || text.isEmpty ? "\(key)=\"\(text)\"" : "\(key)=\(text)"
        }
        let time = ISO8601DateFormatter.string(
            from: Date(), timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        let text = ([time, level.rawValue, label, "\(message)"] + fields).joined(separator: " ") + "\n"
        FileHandle.standardError.write(Data(text.utf8))
    }

    public static func bootstrap() {
        LoggingSystem.bootstrap { StructuredLogHandler(label: $0) }
    }
}
