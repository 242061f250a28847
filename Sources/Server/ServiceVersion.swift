/// The release of cascade, shown by `cascade --version` and sent to MCP clients as the server's
/// version.
public enum ServiceVersion {
    public static let number = "0.12.0"
}
