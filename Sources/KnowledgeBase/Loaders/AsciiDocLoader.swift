import Foundation

/// AsciiDoc source (`.adoc`, `.asciidoc`, `.asc`, and a `.txt` file written in it, as Git's and
/// many other projects' manuals ship their pages next to the HTML made from them).
///
/// Read as plain text, an AsciiDoc page loses everything the chunker needs: its section titles
/// are a line with a row of `-` or `~` under it, its examples are `----` blocks whose line breaks
/// matter, and a numbered call-out list (`<1> …`) explains the block above it. The same page as
/// HTML chunks by section; without this its source twin became a run of headingless paragraphs
/// with the underlines and block fences glued into the text ("PATH_INFO usage ~~~~ If you …").
///
/// What is read, line by line in one pass (linear in the input, whatever its nesting):
/// - titles: `= Title` … `====== Title` and two-line titles (text over a row of `=`, `-`, `~`,
///   `^` or `+` as long as it, give or take two), levels 1 to 6 — the page title is level 1;
/// - delimited blocks: `----` listing and `....` literal blocks are code, kept line by line;
///   `////` comments and `++++` passthrough (raw markup) are dropped; example, sidebar, quote and
///   open-block fences (`====`, `****`, `____`, `--`) are dropped and their content read as usual;
///   a block never closed runs to the end of the page, as AsciiDoc reads it;
/// - `[verse]`, `[literal]`, `[listing]` and `[source…]` make the next paragraph code, and an
///   indented paragraph after a blank line is a literal one (code);
/// - a labelled-list term (`--force::`, `term;;`) is a paragraph of its own, its description
///   the next, as the HTML has them;
/// - a call-out list under a code block stays with that block (``TextBlock/keepWithPrevious``);
/// - dropped: attribute entries (`:toc:`), line comments (`// …`), block attribute lines, list
///   continuation marks (`+`) and `include::` lines (the included file is its own document);
/// - inline: `linkgit:git-fetch[1]` reads `git-fetch(1)`, `link:url[text]` reads `text`,
///   `<<id,text>>` reads `text`, and backquotes around code are removed.
public struct AsciiDocLoader: DocumentLoader {
    public var fileExtensions: Set<String> { ["adoc", "asciidoc", "asc"] }
    public var formatName: String { "asciidoc" }

    public init() {}

    public func load(_ data: Data, context: LoadContext) throws(IngestError) -> [ParsedDocument] {
        let text = try decodeText(data, source: context.relativePath)
        return [Self.parse(text, context: context, formatName: formatName)]
    }

    /// Whether plain text is AsciiDoc: it opens with a page title (`= Title`, or a line over a
    /// row of `=` as long as it), or it has at least two two-line section titles. A text file
    /// with neither reads as plain text.
    public static func looksLikeAsciiDoc(_ text: String) -> Bool {
        var previous: Substring?
        var sectionTitles = 0
        var sawContent = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = trimmedEnd(raw)
            if !sawContent, !line.isEmpty, !line.hasPrefix("//"), !isAttributeEntry(line) {
                sawContent = true
                if oneLineTitle(line)?.level == 1 { return true }
            }
            if let previous, let level = underlineLevel(line, under: previous) {
                if level == 1, sectionTitles == 0 { return true }
                sectionTitles += 1
                if sectionTitles >= 2 { return true }
            }
            previous = line.isEmpty ? nil : line
        }
        return false
    }

    static func parse(_ text: String, context: LoadContext, formatName: String) -> ParsedDocument {
        var parser = Parser()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(trimmedEnd)
        parser.run(lines)
        let title =
            parser.pageTitle
            ?? {
                let first = lines.first { !$0.isEmpty }.map { String($0).collapsingWhitespace() } ?? ""
                return first.count <= 120 && !first.isEmpty
                    ? first : context.fileURL.deletingPathExtension().lastPathComponent
            }()
        // `git push --delete` (backquoted monospace) names a command.
        var codeTerms = CodeTerms.Collector()
        codeTerms.addSpans(of: text, delimiter: "`", fences: .asciidoc)
        return parser.builder.build(
            docID: context.relativePath, source: context.relativePath, title: title,
            metadata: codeTerms.adding(to: ["format": formatName]))
    }

    // MARK: - Line classes

    static func trimmedEnd(_ line: Substring) -> Substring {
        var l = line
        while let last = l.last, last == " " || last == "\t" || last == "\r" { l.removeLast() }
        return l
    }

    /// `== Title` (one to six `=`, then a space): the level and the title text.
    static func oneLineTitle(_ line: Substring) -> (level: Int, text: Substring)? {
        let marks = line.prefix { $0 == "=" }
        guard (1...6).contains(marks.count), line.dropFirst(marks.count).first == " " else { return nil }
        var title = line.dropFirst(marks.count)
        // A closing run of `=` is allowed ("== Title ==").
        while let last = title.last, last == "=" { title.removeLast() }
        let text = title.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        return (marks.count, Substring(text))
    }

    static let underlineLevels: [Character: Int] = ["=": 1, "-": 2, "~": 3, "^": 4, "+": 5]

    /// The level of a two-line title when `line` underlines `title`: one repeated character of
    /// `=-~^+`, as long as the title give or take two, under a title that starts with a letter,
    /// digit or quote and is not itself a fence or list item.
    static func underlineLevel(_ line: Substring, under title: Substring) -> Int? {
        guard line.count >= 2, let mark = line.first, let level = underlineLevels[mark],
            line.allSatisfy({ $0 == mark }), abs(line.count - title.count) <= 2,
            let first = title.first, first.isLetter || first.isNumber || first == "'" || first == "\"" || first == "`",
            fence(title) == nil, !title.hasSuffix("::")
        else { return nil }
        return level
    }

    enum Fence: Equatable {
        case listing, literal, comment, passthrough, table
        /// Example, sidebar, quote, open block: only the fence lines go.
        case container
    }

    /// A delimited block's fence: four or more of one character (`--` alone for an open block).
    static func fence(_ line: Substring) -> Fence? {
        if line == "--" { return .container }
        if line.hasPrefix("|==="), line.dropFirst().allSatisfy({ $0 == "=" }) { return .table }
        guard line.count >= 4, let mark = line.first, line.allSatisfy({ $0 == mark }) else { return nil }
        switch mark {
        case "-": return .listing
        case ".": return .literal
        case "/": return .comment
        case "+": return .passthrough
        case "=", "*", "_": return .container
        default: return nil
        }
    }

    static func isAttributeEntry(_ line: Substring) -> Bool {
        guard line.first == ":", let close = line.dropFirst().firstIndex(of: ":") else { return false }
        let name = line[line.index(after: line.startIndex)..<close]
        return !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "!" }
    }

    /// A labelled-list term line (`--force::`, `term:::`, `term;;`, `term:: text`): the term and
    /// any text after the marker.
    static func listTerm(_ line: Substring) -> (term: Substring, rest: Substring)? {
        guard let first = line.first, !first.isWhitespace else { return nil }
        for marker in ["::::", ":::", "::", ";;"] {
            if line.hasSuffix(marker), line.count > marker.count {
                return (line.dropLast(marker.count), "")
            }
            if let range = line.range(of: marker + " "), range.lowerBound > line.startIndex {
                return (line[..<range.lowerBound], line[range.upperBound...])
            }
        }
        return nil
    }

    /// `<1> text`: a call-out list item.
    static func isCallout(_ line: Substring) -> Bool {
        guard line.first == "<", let close = line.firstIndex(of: ">") else { return false }
        let number = line[line.index(after: line.startIndex)..<close]
        return !number.isEmpty && number.count <= 3 && number.allSatisfy(\.isNumber)
    }

    /// Inline markup a reader does not see: `linkgit:git-fetch[1]` → `git-fetch(1)`,
    /// `link:url[text]` → `text`, `<<id,text>>` → `text`, `` `code` `` → `code`. One pass.
    static func inline(_ line: Substring) -> String {
        var out = ""
        out.reserveCapacity(line.utf8.count)
        var i = line.startIndex
        func bracket(from start: Substring.Index) -> (inner: Substring, end: Substring.Index)? {
            guard start < line.endIndex, line[start] == "[",
                let close = line[start...].prefix(300).firstIndex(of: "]")
            else { return nil }
            return (line[line.index(after: start)..<close], line.index(after: close))
        }
        while i < line.endIndex {
            let rest = line[i...]
            if rest.hasPrefix("linkgit:") {
                let nameStart = line.index(i, offsetBy: 8)
                let name = line[nameStart...].prefix(200).prefix { $0 != "[" && !$0.isWhitespace }
                if !name.isEmpty, let (inner, end) = bracket(from: name.endIndex) {
                    out += name
                    if !inner.isEmpty { out += "(\(inner))" }
                    i = end
                    continue
                }
            } else if rest.hasPrefix("link:") || rest.hasPrefix("xref:") {
                let targetStart = line.index(i, offsetBy: 5)
                let target = line[targetStart...].prefix(500).prefix { $0 != "[" && !$0.isWhitespace }
                if !target.isEmpty, let (inner, end) = bracket(from: target.endIndex) {
                    out += inner.isEmpty ? target : inner
                    i = end
                    continue
                }
            } else if rest.hasPrefix("<<"), let close = rest.prefix(300).range(of: ">>") {
                let inner = rest[rest.index(rest.startIndex, offsetBy: 2)..<close.lowerBound]
                if !inner.isEmpty, !inner.contains("<") {
                    let label = inner.split(separator: ",", maxSplits: 1)
                    out += (label.count == 2 ? label[1] : label[0]).trimmingCharacters(in: .whitespaces)
                    i = close.upperBound
                    continue
                }
            } else if line[i] == "`" {
                i = line.index(after: i)
                continue
            }
            out.append(line[i])
            i = line.index(after: i)
        }
        return out
    }

    /// asciidoc's default section id: `_` then the title lower-cased, other characters `_`.
    static func defaultID(_ title: String) -> String {
        var out = "_"
        var lastUnderscore = true
        for c in title.lowercased() {
            if c.isLetter || c.isNumber {
                out.append(c)
                lastUnderscore = false
            } else if !lastUnderscore {
                out.append("_")
                lastUnderscore = true
            }
        }
        while out.count > 1, out.last == "_" { out.removeLast() }
        return out
    }

    // MARK: - The pass

    struct Parser {
        var builder = DocumentTextBuilder()
        var pageTitle: String?
        var paragraph: [String] = []
        /// The next paragraph keeps its line breaks (`[verse]`, `[source]`…).
        var nextIsCode = false
        var anchor: String?
        /// The last block written was code: a call-out list right after it stays with it.
        var lastWasCode = false
        var inCallouts = false

        mutating func flush() {
            guard !paragraph.isEmpty else { return }
            let keep = inCallouts
            if nextIsCode {
                builder.append(.code, paragraph.joined(separator: "\n"), keepWithPrevious: keep)
                lastWasCode = true
            } else {
                builder.append(.paragraph, paragraph.joined(separator: "\n"), keepWithPrevious: keep)
                lastWasCode = false
            }
            // A call-out list of several items: each keeps to the one before, so all stay
            // with the code.
            inCallouts = inCallouts && keep
            paragraph.removeAll()
            nextIsCode = false
        }

        mutating func heading(_ level: Int, _ text: Substring) {
            flush()
            let title = AsciiDocLoader.inline(text).collapsingWhitespace()
            if level == 1, pageTitle == nil { pageTitle = title }
            builder.append(.heading(level: level), title, anchor: anchor ?? AsciiDocLoader.defaultID(title))
            anchor = nil
            lastWasCode = false
            inCallouts = false
        }

        mutating func code(_ lines: ArraySlice<Substring>) {
            flush()
            builder.append(.code, lines.joined(separator: "\n"))
            lastWasCode = true
            inCallouts = false
        }

        mutating func run(_ lines: [Substring]) {
            var i = 0
            var previousBlank = true
            while i < lines.count {
                let line = lines[i]
                defer { i += 1 }
                // Open fence: find its close (the same line) or run to the end.
                if let fence = AsciiDocLoader.fence(line),
                    !(paragraph.count == 1
                        && AsciiDocLoader.underlineLevel(line, under: Substring(paragraph[0])) != nil)
                {
                    switch fence {
                    case .container:
                        flush()
                        previousBlank = true
                        continue
                    case .listing, .literal, .comment, .passthrough, .table:
                        flush()
                        var close = i + 1
                        while close < lines.count, lines[close] != line { close += 1 }
                        let body = lines[(i + 1)..<min(close, lines.count)]
                        switch fence {
                        case .listing, .literal: code(body)
                        case .table:
                            for row in body where !row.isEmpty { paragraph.append(AsciiDocLoader.inline(row)) }
                            flush()
                        default: break
                        }
                        i = close
                        previousBlank = true
                        continue
                    }
                }
                if line.isEmpty || line == "+" {
                    flush()
                    previousBlank = true
                    continue
                }
                if line.hasPrefix("//") { continue }
                if AsciiDocLoader.isAttributeEntry(line) || line.hasPrefix("include::") || line.hasPrefix("ifdef::")
                    || line.hasPrefix("ifndef::") || line.hasPrefix("endif::")
                {
                    continue
                }
                // Two-line title: the paragraph so far is one line and this underlines it.
                if paragraph.count == 1, !nextIsCode,
                    let level = AsciiDocLoader.underlineLevel(line, under: Substring(paragraph[0]))
                {
                    let title = paragraph[0]
                    paragraph.removeAll()
                    heading(level, Substring(title))
                    previousBlank = true
                    continue
                }
                if paragraph.isEmpty, let (level, text) = AsciiDocLoader.oneLineTitle(line) {
                    heading(level, text)
                    previousBlank = true
                    continue
                }
                if paragraph.isEmpty, line.hasPrefix("["), line.hasSuffix("]") {
                    if line.hasPrefix("[[") {
                        anchor = String(line.dropFirst(2).dropLast(2).split(separator: ",").first ?? "")
                    } else if line.hasPrefix("[#") {
                        anchor = String(line.dropFirst(2).dropLast().prefix { $0 != "." && $0 != "," })
                    } else {
                        let style = line.dropFirst().prefix { $0 != "," && $0 != "]" }.lowercased()
                        nextIsCode = ["verse", "literal", "listing", "source"].contains(style)
                    }
                    continue
                }
                // Block title (".Example"): a paragraph of its own.
                if paragraph.isEmpty, line.count > 1, line.first == ".", let second = line.dropFirst().first,
                    !second.isWhitespace, second != "."
                {
                    inCallouts = false
                    paragraph.append(AsciiDocLoader.inline(line.dropFirst()))
                    flush()
                    continue
                }
                if AsciiDocLoader.isCallout(line), paragraph.isEmpty || inCallouts {
                    flush()
                    inCallouts = lastWasCode || inCallouts
                    paragraph.append(AsciiDocLoader.inline(line))
                    previousBlank = false
                    continue
                }
                if !nextIsCode, let (term, rest) = AsciiDocLoader.listTerm(line) {
                    flush()
                    inCallouts = false
                    paragraph.append(AsciiDocLoader.inline(term))
                    flush()
                    if !rest.isEmpty { paragraph.append(AsciiDocLoader.inline(rest)) }
                    previousBlank = false
                    continue
                }
                if paragraph.isEmpty {
                    inCallouts = false
                    if previousBlank, let first = line.first, first == " " || first == "\t" { nextIsCode = true }
                }
                paragraph.append(nextIsCode ? String(line) : AsciiDocLoader.inline(line))
                previousBlank = false
            }
            flush()
        }
    }
}
