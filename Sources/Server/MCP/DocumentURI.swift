import Foundation

/// The URI of a knowledge-base document as an MCP resource: `cascade://documents/<source>`, with
/// the cited section as the fragment (`#<anchor>`). A citation a tool returns (`source#anchor`)
/// maps to exactly one URI, so an agent can read the passage's whole document or section.
///
/// The source is percent-encoded except for unreserved characters and `/`, so sources that are
/// paths (`guides/refunds.md`) stay readable and sources that are URLs survive intact.
struct DocumentURI: Hashable, Sendable {
    static let prefix = "cascade://documents/"
    /// What is left as is in the source's encoding (RFC 3986 unreserved, plus `/`).
    private static let kept = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/")

    var source: String
    var anchor: String?

    init(source: String, anchor: String? = nil) {
        self.source = source
        self.anchor = anchor.flatMap { $0.isEmpty ? nil : $0 }
    }

    var string: String {
        let path = source.addingPercentEncoding(withAllowedCharacters: Self.kept) ?? source
        guard let anchor else { return Self.prefix + path }
        return Self.prefix + path + "#" + (anchor.addingPercentEncoding(withAllowedCharacters: Self.kept) ?? anchor)
    }

    /// Parses a URI this type wrote; nil for anything else (another scheme, an empty source,
    /// invalid percent-encoding, control characters).
    init?(parsing text: String) {
        guard text.utf8.count <= 4096, text.hasPrefix(Self.prefix) else { return nil }
        let rest = text.dropFirst(Self.prefix.count)
        let parts = rest.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        guard let source = String(parts[0]).removingPercentEncoding, !source.isEmpty else { return nil }
        var anchor: String?
        if parts.count == 2 {
            guard let decoded = String(parts[1]).removingPercentEncoding else { return nil }
            anchor = decoded
        }
        let all = source + (anchor ?? "")
        guard !all.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return nil }
        self.init(source: source, anchor: anchor)
    }
}
