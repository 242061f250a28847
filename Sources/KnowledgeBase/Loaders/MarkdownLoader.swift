import Foundation

/// CommonMark-style Markdown: ATX (`#`) and setext (`===`) headings, fenced code, paragraphs,
/// lists and quotes as paragraphs, YAML front matter `title:`. Inline markup is reduced to its
/// text (links keep their label, emphasis and code marks are dropped).
public struct MarkdownLoader: DocumentLoader {
    public var fileExtensions: Set<String> { ["md", "markdown", "mdown", "mkd"] }
    public var formatName: String { "markdown" }

    public init() {}

    public func load(_ data: Data, context: LoadContext) throws(IngestError) -> [ParsedDocument] {
        let text = try decodeText(data, source: context.relativePath)
        var lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n", omittingEmptySubsequences: false
        ).map(String.init)
        var title: String?
        if lines.first == "---", let end = lines.dropFirst().firstIndex(of: "---") {
            for line in lines[1..<end] where line.hasPrefix("title:") {
                title = line.dropFirst(6).trimmingCharacters(in: .whitespaces).trimmingCharacters(
                    in: CharacterSet(charactersIn: "\"'"))
            }
            lines.removeSubrange(0...end)
        }

        var builder = DocumentTextBuilder()
        var paragraph: [String] = []
        var usedAnchors: [String: Int] = [:]
        func flush() {
            builder.append(.paragraph, Self.stripInline(paragraph.joined(separator: "\n")))
            paragraph.removeAll()
        }
        func heading(_ raw: String, level: Int) {
            flush()
            let headingText = Self.stripInline(raw)
            var anchor = headingText.slugified()
            if let seen = usedAnchors[anchor] {
                usedAnchors[anchor] = seen + 1
                anchor += "-\(seen)"
            } else {
                usedAnchors[anchor] = 1
            }
            builder.append(.heading(level: level), headingText, anchor: anchor)
            if title == nil, level == 1 { title = headingText }
        }

        var index = 0
        while index < lines.count {
            let line = lines[index]
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let fence = Self.fenceMarker(trimmed) {
                flush()
                var code: [String] = []
                index += 1
                while index < lines.count, !lines[index].trimmingCharacters(in: .whitespaces).hasPrefix(fence) {
                    code.append(lines[index])
                    index += 1
                }
                builder.append(.code, code.joined(separator: "\n"))
            } else if let (level, headingText) = Self.atxHeading(trimmed) {
                heading(headingText, level: level)
            } else if trimmed.isEmpty {
                flush()
            } else if paragraph.count == 1, index + 1 <= lines.count, Self.isSetextUnderline(trimmed) {
                let raw = paragraph[0]
                paragraph.removeAll()
                heading(raw, level: trimmed.hasPrefix("=") ? 1 : 2)
            } else if Self.isThematicBreak(trimmed) {
                flush()
            } else {
                paragraph.append(line)
            }
            index += 1
        }
        flush()
        let resolvedTitle = title ?? context.fileURL.deletingPathExtension().lastPathComponent
        return [
            builder.build(
                docID: context.relativePath, source: context.relativePath, title: resolvedTitle,
                metadata: ["format": formatName])
        ]
    }

    static func fenceMarker(_ line: String) -> String? {
        if line.hasPrefix("```") { return "```" }
        if line.hasPrefix("~~~") { return "~~~" }
        return nil
    }

    static func atxHeading(_ line: String) -> (Int, String)? {
        let hashes = line.prefix { $0 == "#" }.count
        guard (1...6).contains(hashes) else { return nil }
        let rest = line.dropFirst(hashes)
        guard rest.isEmpty || rest.first == " " || rest.first == "\t" else { return nil }
        var text = rest.trimmingCharacters(in: .whitespaces)
        while text.hasSuffix("#") { text.removeLast() }
        return (hashes, text.trimmingCharacters(in: .whitespaces))
    }

    static func isSetextUnderline(_ line: String) -> Bool {
        !line.isEmpty && (line.allSatisfy { $0 == "=" } || (line.count >= 2 && line.allSatisfy { $0 == "-" }))
    }

    static func isThematicBreak(_ line: String) -> Bool {
        let compact = line.filter { $0 != " " }
        return compact.count >= 3
            && (compact.allSatisfy { $0 == "-" } || compact.allSatisfy { $0 == "*" }
                || compact.allSatisfy { $0 == "_" })
    }

    /// Reduces inline Markdown to its readable text.
    static func stripInline(_ text: String) -> String {
        var out = ""
        var chars = Array(text)
        var i = 0
        // Drop list bullets and quote marks at line starts.
        chars = Array(
            text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                var l = line.drop { $0 == " " || $0 == ">" }
                if let first = l.first, "-*+".contains(first), l.dropFirst().first == " " { l = l.dropFirst(2) }
                return String(l)
            }.joined(separator: "\n"))
        while i < chars.count {
            let c = chars[i]
            if c == "!" && i + 1 < chars.count && chars[i + 1] == "[" {
                i += 1
                continue
            }
            if c == "[", let close = chars[i...].firstIndex(of: "]"), close + 1 < chars.count, chars[close + 1] == "(",
                let paren = chars[close...].firstIndex(of: ")")
            {
                out += String(chars[(i + 1)..<close])
                i = paren + 1
                continue
            }
            if c == "*" || c == "_" && (i == 0 || !chars[i - 1].isLetter) || c == "`" {
                i += 1
                continue
            }
            out.append(c)
            i += 1
        }
        return out
    }
}
