import Foundation
import Glibc
import SwitchyardControl

/// The id allocation on disk, beside the pinned maps' owner: written whole to a temporary file,
/// flushed, renamed over the old one and the directory flushed, so a crash leaves either the
/// old allocation or the new one — never a torn file that would renumber live backends.
enum AllocationFile {
    struct SaveError: Error, CustomStringConvertible {
        var step: String
        var path: String
        var errno: Int32
        var description: String { "\(step) \(path): \(String(cString: strerror(errno)))" }
    }

    static func path(_ directory: String) -> String { "\(directory)/id-allocation.json" }

    /// Nil when there is no file; a file that does not decode is an error (the caller decides).
    static func load(_ directory: String) throws -> IDAllocation? {
        guard let data = FileManager.default.contents(atPath: path(directory)) else { return nil }
        return try JSONDecoder().decode(IDAllocation.self, from: data)
    }

    static func save(_ allocation: IDAllocation, _ directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(allocation)
        let target = path(directory)
        let temporary = target + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SaveError(step: "create", path: temporary, errno: errno) }
        var failure: (step: String, errno: Int32)?
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count, let base = bytes.baseAddress {
                let n = write(fd, base + offset, bytes.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    failure = ("write", n < 0 ? errno : EIO)
                    return
                }
                offset += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = ("fsync", errno) }
        close(fd)
        if let failure {
            unlink(temporary)
            throw SaveError(step: failure.step, path: temporary, errno: failure.errno)
        }
        guard rename(temporary, target) == 0 else {
            let e = errno
            unlink(temporary)
            throw SaveError(step: "rename to", path: target, errno: e)
        }
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }
}
