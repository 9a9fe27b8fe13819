import Foundation
import SwitchyardDatapath
import SwitchyardLab

/// The labs on this machine, found the way `Lab.downAll` finds them: a directory
/// `Lab.dirPrefix<id>`, or network namespaces named `sy<id>-…`.
enum LabInventory {
    static func exists(id: String) -> Bool {
        !id.isEmpty
            && (FileManager.default.fileExists(atPath: Lab.dirPrefix + id)
                || !NetworkNamespace.list(prefix: "sy\(id)-").isEmpty)
    }

    static func ids() -> [String] {
        let directory = URL(fileURLWithPath: Lab.dirPrefix).deletingLastPathComponent().path
        let prefix = URL(fileURLWithPath: Lab.dirPrefix).lastPathComponent
        var ids = Set(
            ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) })
        for namespace in NetworkNamespace.list(prefix: "sy") {
            let id = namespace.dropFirst(2).prefix { $0 != "-" }
            if id.count == 6, id.allSatisfy(\.isHexDigit) { ids.insert(String(id)) }
        }
        return ids.sorted()
    }
}
