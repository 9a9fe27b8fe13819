/// A command that could not do its work (no agent to ask, no such lab, a value it cannot use).
/// ArgumentParser prints it alone as `Error: <message>` on stderr and exits 1; a
/// `ValidationError` would add the usage text and exit 64, which is for arguments it parsed.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}
