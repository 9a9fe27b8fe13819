import Foundation

/// One event of a watch stream: `{"type": …, "object": …}`. ERROR events carry a `Status`, not an
/// object of the watched kind, so the object is decoded by type.
public enum WatchEvent<Object: KubeResource>: Sendable {
    case added(Object)
    case modified(Object)
    case deleted(Object)
    /// Only `metadata.resourceVersion` is meaningful: the point to resume from.
    case bookmark(resourceVersion: String)
    case error(KubeStatus)

    /// Decodes one line of a watch stream. Throws `WatchDecodingError` naming what was wrong.
    public static func decode(line: some Collection<UInt8>, decoder: JSONDecoder = JSONDecoder()) throws -> Self {
        let data = Data(line)
        let head: Head
        do {
            head = try decoder.decode(Head.self, from: data)
        } catch {
            throw WatchDecodingError.malformed("not a watch event: \(error)")
        }
        switch head.type {
        case "ADDED": return .added(try decodeObject(Object.self, data, decoder))
        case "MODIFIED": return .modified(try decodeObject(Object.self, data, decoder))
        case "DELETED": return .deleted(try decodeObject(Object.self, data, decoder))
        case "BOOKMARK":
            let bookmark = try decodeObject(BookmarkObject.self, data, decoder)
            guard let version = bookmark.metadata.resourceVersion, !version.isEmpty else {
                throw WatchDecodingError.malformed("a BOOKMARK without a resourceVersion")
            }
            return .bookmark(resourceVersion: version)
        case "ERROR": return .error(try decodeObject(KubeStatus.self, data, decoder))
        default: throw WatchDecodingError.malformed("unknown watch event type \(head.type.debugDescription)")
        }
    }

    private struct Head: Decodable { var type: String }
    private struct Body<T: Decodable>: Decodable { var object: T }
    private struct BookmarkObject: Decodable { var metadata: ListMeta }

    private static func decodeObject<T: Decodable>(_: T.Type, _ data: Data, _ decoder: JSONDecoder) throws -> T {
        do {
            return try decoder.decode(Body<T>.self, from: data).object
        } catch {
            throw WatchDecodingError.malformed("a watch event whose object does not decode as \(T.self): \(error)")
        }
    }
}

public enum WatchDecodingError: Error, CustomStringConvertible, Equatable {
    case malformed(String)
    case lineTooLong(limit: Int)

    public var description: String {
        switch self {
        case .malformed(let why): return why
        case .lineTooLong(let limit): return "a watch event longer than \(limit) bytes"
        }
    }
}
