#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a config file, saying why it cannot when it cannot (the errno, in words).
enum ConfigFile {
    static func contents(of path: String) -> Result<String, ConfigError> {
        func failure(_ message: String) -> Result<String, ConfigError> {
            .failure(ConfigError(file: path, line: 0, field: "file", message: message))
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return failure("cannot be read: \(reason(errno))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                return failure("cannot be read: \(reason(errno))")
            }
            bytes += buffer[0..<count]
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { return failure("is not UTF-8 text") }
        return .success(text)
    }

    /// `strerror` starting in lower case, to follow "cannot be read: ".
    static func reason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
