import Foundation

/// Patterns from a `.cascadeignore` file at the ingest root: files matching them are not ingested.
///
/// One glob per line (`*`, `?`, `[...]` as in `fnmatch`), matched against the path relative to
/// the root; a pattern ending in `/` matches a folder and everything under it; `#` starts a comment.
public struct IgnoreRules: Sendable {
    public let patterns: [String]

    public init(patterns: [String]) {
        self.patterns = patterns.map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty && !$0.hasPrefix("#")
        }
    }

    public init(root: URL) {
        let file = root.appendingPathComponent(".cascadeignore")
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        self.init(patterns: text.components(separatedBy: .newlines))
    }

    public func ignores(_ relativePath: String) -> Bool {
        for pattern in patterns {
            if pattern.hasSuffix("/") {
                let folder = String(pattern.dropLast())
                if relativePath.hasPrefix(folder + "/") || fnmatch(folder + "/*", relativePath, 0) == 0 { return true }
            } else if fnmatch(pattern, relativePath, 0) == 0
                || fnmatch(pattern, (relativePath as NSString).lastPathComponent, 0) == 0
            {
                return true
            }
        }
        return false
    }
}
