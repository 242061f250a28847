import Foundation

/// CommonMark-style Markdown as GitHub READMEs are written: ATX (`#`) and setext (`===`)
/// headings, fenced and indented code (kept whole, line by line), GFM tables (one line per row,
/// cells separated by " | ", the delimiter row dropped), list items and quotes as paragraphs, YAML
/// front matter `title:`. Inline markup is reduced to its text: links keep their label, images
/// their alt text, emphasis and code marks and HTML tags are dropped, and link reference
/// definitions (`[label]: https://…`) are not text at all.
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
            } else if paragraph.isEmpty, Self.isIndentedCode(line) {
                // An indented code block (only after a blank line: a paragraph's continuation
                // lines may be indented too).
                var code: [String] = []
                while index < lines.count,
                    Self.isIndentedCode(lines[index]) || lines[index].trimmingCharacters(in: .whitespaces).isEmpty
                {
                    code.append(
                        lines[index].hasPrefix("\t")
                            ? String(lines[index].dropFirst())
                            : String(lines[index].dropFirst(min(4, lines[index].prefix { $0 == " " }.count))))
                    index += 1
                }
                builder.append(.code, code.joined(separator: "\n"))
                continue
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
            } else if Self.isLinkReferenceDefinition(trimmed) {
                // `[label]: https://… "title"`: where a link points, not text.
            } else if trimmed.contains("|"), index + 1 < lines.count, Self.isTableDelimiterRow(lines[index + 1]) {
                flush()
                builder.append(.paragraph, Self.tableRow(trimmed))
                index += 2
                while index < lines.count, lines[index].contains("|"),
                    !lines[index].trimmingCharacters(in: .whitespaces).isEmpty
                {
                    builder.append(.paragraph, Self.tableRow(lines[index].trimmingCharacters(in: .whitespaces)))
                    index += 1
                }
                continue
            } else {
                // A list item starts a paragraph of its own.
                if !paragraph.isEmpty, Self.isListItem(trimmed) { flush() }
                paragraph.append(line)
            }
            index += 1
        }
        flush()
        let resolvedTitle = title ?? context.fileURL.deletingPathExtension().lastPathComponent
        return [
            builder.build(
                docID: context.relativePath, source: context.relativePath, title: resolvedTitle,
                metadata: codeTerms(of: text).adding(to: ["format": formatName]))
        ]
    }

    /// The code spans of the source (``CodeTerms``).
    func codeTerms(of text: String) -> CodeTerms.Collector {
        var collector = CodeTerms.Collector()
        collector.addSpans(of: text, delimiter: "`", fences: .markdown)
        return collector
    }

    static func isIndentedCode(_ line: String) -> Bool {
        (line.hasPrefix("    ") || line.hasPrefix("\t")) && !line.trimmingCharacters(in: .whitespaces).isEmpty
    }

    static func isListItem(_ line: String) -> Bool {
        if let first = line.first, "-*+".contains(first), line.dropFirst().first == " " { return true }
        let digits = line.prefix { $0.isNumber }
        guard (1...9).contains(digits.count) else { return false }
        let rest = line.dropFirst(digits.count)
        return (rest.first == "." || rest.first == ")") && rest.dropFirst().first == " "
    }

    /// `[label]: destination` (at most three spaces of indentation, as CommonMark allows).
    static func isLinkReferenceDefinition(_ line: String) -> Bool {
        guard line.first == "[", let close = line.firstIndex(of: "]"), close > line.index(after: line.startIndex)
        else { return false }
        let rest = line[line.index(after: close)...]
        guard rest.first == ":" else { return false }
        return !rest.dropFirst().trimmingCharacters(in: .whitespaces).isEmpty
    }

    /// `| --- | :---: |` (a GFM table's second line).
    static func isTableDelimiterRow(_ line: String) -> Bool {
        let cells = tableCells(line.trimmingCharacters(in: .whitespaces))
        return !cells.isEmpty
            && cells.allSatisfy { cell in
                let core = cell.trimmingCharacters(in: CharacterSet(charactersIn: ":"))
                return core.count >= 1 && core.allSatisfy { $0 == "-" } && cell.count <= 200
            }
    }

    static func tableCells(_ line: String) -> [String] {
        var row = Substring(line)
        if row.hasPrefix("|") { row = row.dropFirst() }
        if row.hasSuffix("|") { row = row.dropLast() }
        return row.split(separator: "|", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
    }

    /// A table row as one readable line: its cells' text separated by " | ".
    static func tableRow(_ line: String) -> String {
        tableCells(line).map { stripInline($0) }.joined(separator: " | ")
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

    /// Reduces inline Markdown to its readable text. One pass; every look-ahead is bounded (a
    /// link's label and destination, an HTML tag), so it is linear in the text.
    static func stripInline(_ text: String) -> String {
        // Drop list bullets and quote marks at line starts.
        let chars = Array(
            text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                var l = line.drop { $0 == " " || $0 == ">" }
                if let first = l.first, "-*+".contains(first), l.dropFirst().first == " " { l = l.dropFirst(2) }
                return String(l)
            }.joined(separator: "\n"))
        var out = ""
        var i = 0
        func find(_ target: Character, from start: Int, within limit: Int) -> Int? {
            var j = start
            while j < chars.count, j < start + limit {
                if chars[j] == target { return j }
                j += 1
            }
            return nil
        }
        /// The `]` closing the `[` at `start`, counting nested brackets.
        func matchingBracket(from start: Int, within limit: Int) -> Int? {
            var depth = 0
            var j = start
            while j < chars.count, j < start + limit {
                if chars[j] == "[" { depth += 1 }
                if chars[j] == "]" {
                    depth -= 1
                    if depth == 0 { return j }
                }
                j += 1
            }
            return nil
        }
        while i < chars.count {
            let c = chars[i]
            if c == "!" && i + 1 < chars.count && chars[i + 1] == "[" {
                i += 1
                continue
            }
            if c == "`", let close = find("`", from: i + 1, within: 1000) {
                // Code spans are verbatim (`*`, `_` and brackets in them are text).
                out += String(chars[(i + 1)..<close])
                i = close + 1
                continue
            }
            if c == "[", let close = matchingBracket(from: i, within: 500) {
                let label = String(chars[(i + 1)..<close])
                if close + 1 < chars.count, chars[close + 1] == "(",
                    let paren = find(")", from: close + 1, within: 2000)
                {
                    out += stripInline(label)
                    i = paren + 1
                    continue
                }
                if close + 1 < chars.count, chars[close + 1] == "[", let end = find("]", from: close + 2, within: 200) {
                    // A reference link `[label][ref]`: its label.
                    out += stripInline(label)
                    i = end + 1
                    continue
                }
                // A shortcut reference `[label]` (or plain brackets): the label.
                out += stripInline(label)
                i = close + 1
                continue
            }
            if c == "<", i + 1 < chars.count, chars[i + 1].isLetter || chars[i + 1] == "/" || chars[i + 1] == "!",
                let close = find(">", from: i + 1, within: 1000)
            {
                // An HTML tag: dropped, an image keeps its alt text; an autolink <https://…> its URL.
                let tag = String(chars[(i + 1)..<close])
                if tag.hasPrefix("http://") || tag.hasPrefix("https://") || tag.hasPrefix("mailto:") {
                    out += tag
                } else if tag.lowercased().hasPrefix("img"), let alt = Self.attribute("alt", in: tag) {
                    out += " \(alt) "
                }
                i = close + 1
                continue
            }
            if c == "*" || c == "`" {
                i += 1
                continue
            }
            if c == "_" {
                // Emphasis marks sit at a word's edge; an underscore inside a word (snake_case) is text.
                let before = i > 0 && (chars[i - 1].isLetter || chars[i - 1].isNumber)
                let after = i + 1 < chars.count && (chars[i + 1].isLetter || chars[i + 1].isNumber)
                if !(before && after) {
                    i += 1
                    continue
                }
            }
            out.append(c)
            i += 1
        }
        return out
    }

    /// `name="value"` in an HTML tag's text.
    static func attribute(_ name: String, in tag: String) -> String? {
        guard let range = tag.range(of: name + "=\"") ?? tag.range(of: name + "='") else { return nil }
        let quote = tag[tag.index(before: range.upperBound)]
        let rest = tag[range.upperBound...]
        guard let end = rest.firstIndex(of: quote) else { return nil }
        return String(rest[..<end])
    }
}
