import Glibc

/// A process's CPU time from its `/proc/<pid>/stat` line: utime + stime (fields 14 and 15), in
/// clock ticks. The command name (field 2) may hold spaces and parentheses, so the fields are
/// counted after its last `)`.
enum ProcessCPUTime {
    static func ticks(stat: String) -> Int? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        // After ") ": field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    static let ticksPerSecond = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))
}
