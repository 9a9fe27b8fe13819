/// The one place the release version is written; `switchyard --version` prints it.
public enum SwitchyardVersion {
    public static let current = "0.1.0"
}
