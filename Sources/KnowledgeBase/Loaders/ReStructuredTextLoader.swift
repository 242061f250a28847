import Foundation

/// reStructuredText (`.rst`, `.rest`, and a `.txt` written in it — Sphinx publishes every page's
/// source as `_sources/<page>.rst.txt` next to its HTML).
///
/// Read as plain text (or as AsciiDoc, which it resembles), a Sphinx source keeps its markup in
/// the text: `.. code-block:: python` became a paragraph of its own, a role such as
/// ``:class:`~flask.Flask` `` stayed as written, and a note's indented text read as code. What is
/// read, line by line in one pass (linear in the input):
/// - section titles: a line under (and optionally over) a row of one punctuation character at
///   least as long as it, give or take two; levels follow the order in which the styles first
///   appear, as reStructuredText defines them;
/// - directives (`.. name:: argument`, then indented options and content): code directives
///   (`code-block`, `code`, `sourcecode`) are code; admonitions and other text directives keep
///   their content as paragraphs; directives that show no text here (`image`, `figure`,
///   `toctree`, `autoclass`, `include`, `raw`, `only`, `index`…) are dropped; a `.. _label:`
///   target names the next title's anchor; any other `..` block is a comment and is dropped;
/// - a paragraph ending in `::` introduces a literal block (the indented lines after it: code);
/// - inline: roles read as their text (``:class:`~flask.Flask` `` → `Flask`,
///   ``:doc:`Title <page>` `` → `Title`), ``` ``literal`` ``` and `` `link`_ `` as their text.
public struct ReStructuredTextLoader: DocumentLoader {
    public var fileExtensions: Set<String> { ["rst", "rest"] }
    public var formatName: String { "rst" }

    public init() {}

    public func load(_ data: Data, context: LoadContext) throws(IngestError) -> [ParsedDocument] {
        let text = try decodeText(data, source: context.relativePath)
        return [Self.parse(text, context: context)]
    }

    /// Whether plain text is reStructuredText: at least one underlined title and one directive
    /// (`.. name::`) or role (`:name:`…``). AsciiDoc and plain notes have neither of the latter.
    public static func looksLikeReStructuredText(_ text: String) -> Bool {
        var previous: Substring?
        var titles = 0
        var markup = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = AsciiDocLoader.trimmedEnd(raw)
            if directive(line) != nil || (line.hasPrefix(".. _") && line.hasSuffix(":")) { markup += 1 }
            if markup == 0, line.contains(":`"), role(in: line) { markup += 1 }
            if let previous, underline(line, under: previous) != nil { titles += 1 }
            if titles > 0 && markup > 0 { return true }
            previous = line.isEmpty ? nil : line
        }
        return false
    }

    static func parse(_ text: String, context: LoadContext) -> ParsedDocument {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(AsciiDocLoader.trimmedEnd)
        var parser = Parser()
        parser.run(lines)
        let title = parser.pageTitle ?? context.fileURL.deletingPathExtension().lastPathComponent
        // ``ls -l`` (an inline literal) names a command.
        var codeTerms = CodeTerms.Collector()
        codeTerms.addSpans(of: text, delimiter: "``")
        return parser.builder.build(
            docID: context.relativePath, source: context.relativePath, title: title,
            metadata: codeTerms.adding(to: ["format": "rst"]))
    }

    // MARK: - Line classes

    static let adornments: Set<Character> = [
        "=", "-", "`", ":", "'", "\"", "~", "^", "_", "*", "+", "#", "<", ">",
    ]

    /// The adornment character when `line` underlines `title`: one repeated punctuation
    /// character, at least as long as the title less two, under a title that is text.
    static func underline(_ line: Substring, under title: Substring) -> Character? {
        guard line.count >= 3, let mark = line.first, adornments.contains(mark), line.allSatisfy({ $0 == mark }),
            line.count >= title.count - 2, let first = title.first, !first.isWhitespace,
            !title.allSatisfy({ $0 == title.first }), directive(title) == nil, !title.hasPrefix("..")
        else { return nil }
        return mark
    }

    /// `.. name:: argument`: the directive's name and argument.
    static func directive(_ line: Substring) -> (name: String, argument: Substring)? {
        guard line.hasPrefix(".. "), let marker = line.range(of: "::") else { return nil }
        let name = line[line.index(line.startIndex, offsetBy: 3)..<marker.lowerBound]
        guard !name.isEmpty, name.count <= 40,
            name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == ":" || $0 == "_" })
        else { return nil }
        return (name.lowercased(), line[marker.upperBound...].drop { $0 == " " })
    }

    static func role(in line: Substring) -> Bool {
        guard let tick = line.range(of: ":`") else { return false }
        let before = line[..<tick.lowerBound].reversed().prefix { $0.isLetter || $0 == ":" || $0 == "-" }
        return before.count >= 2 && before.last == ":"
    }

    static let codeDirectives: Set<String> = ["code-block", "code", "sourcecode", "literalinclude", "parsed-literal"]
    static let hiddenDirectives: Set<String> = [
        "image", "figure", "toctree", "include", "raw", "only", "index", "meta", "currentmodule", "module",
        "contents", "highlight", "tabularcolumns", "default-role", "role", "autoclass", "automodule", "autofunction",
        "automethod", "autoattribute", "autodata", "autoexception", "autosummary", "py:currentmodule", "py:module",
        "click", "sectionauthor", "codeauthor", "literalinclude",
    ]

    static let versionNotes: [String: String] = [
        "versionadded": "New in version", "versionchanged": "Changed in version",
        "deprecated": "Deprecated since version",
    ]

    static func indentation(_ line: Substring) -> Int {
        var n = 0
        for c in line {
            if c == " " { n += 1 } else if c == "\t" { n += 8 } else { break }
        }
        return n
    }

    /// Where "``" starts in `text`, by a plain scan (no bridging to Foundation per call).
    static func doubleBacktick(in text: Substring) -> Substring.Index? {
        var previous: Substring.Index?
        for index in text.indices {
            if text[index] == "`" {
                if let previous { return previous }
                previous = index
            } else {
                previous = nil
            }
        }
        return nil
    }

    /// Roles, literals and references as the reader sees them. One pass.
    static func inline(_ line: Substring) -> String {
        var out = ""
        out.reserveCapacity(line.utf8.count)
        var i = line.startIndex
        while i < line.endIndex {
            let c = line[i]
            // ``literal``
            if c == "`", line[i...].hasPrefix("``") {
                let start = line.index(i, offsetBy: 2)
                if let close = doubleBacktick(in: line[start...].prefix(500)) {
                    out += line[start..<close]
                    i = line.index(close, offsetBy: 2)
                    continue
                }
            }
            // :role:`text`: the role's name is skipped (a bounded look ahead for ":`").
            if c == ":" {
                var j = line.index(after: i)
                var steps = 0
                while j < line.endIndex, steps < 40, line[j].isLetter || line[j] == "-" || line[j] == ":" {
                    let next = line.index(after: j)
                    if line[j] == ":", steps > 0, next < line.endIndex, line[next] == "`" { break }
                    j = next
                    steps += 1
                }
                if j < line.endIndex, steps > 0, line[j] == ":", line.index(after: j) < line.endIndex,
                    line[line.index(after: j)] == "`"
                {
                    i = line.index(after: j)
                    continue
                }
            }
            // `text`_ or `text` (a role's text, a link's, an interpreted text's)
            if c == "`", let close = line[line.index(after: i)...].prefix(500).firstIndex(of: "`") {
                var inner = line[line.index(after: i)..<close]
                // "Title <target>" reads as the title; "~a.b.C" as "C".
                if inner.hasSuffix(">"), let open = inner.lastIndex(of: "<"), open > inner.startIndex {
                    inner = inner[..<open]
                    while inner.last == " " { inner = inner.dropLast() }
                }
                if inner.hasPrefix("~") { inner = inner.dropFirst().split(separator: ".").last ?? inner }
                if inner.hasPrefix("!") { inner = inner.dropFirst() }
                out += inner
                i = line.index(after: close)
                while i < line.endIndex, line[i] == "_" { i = line.index(after: i) }
                continue
            }
            if c == "*", line[i...].hasPrefix("**") {
                i = line.index(i, offsetBy: 2)
                continue
            }
            out.append(c)
            i = line.index(after: i)
        }
        return out
    }

    // MARK: - The pass

    struct Parser {
        var builder = DocumentTextBuilder()
        var pageTitle: String?
        var styles: [String] = []
        var anchor: String?
        var paragraph: [String] = []

        mutating func flush(as kind: TextBlock.Kind = .paragraph) {
            guard !paragraph.isEmpty else { return }
            builder.append(kind, paragraph.joined(separator: "\n"))
            paragraph.removeAll()
        }

        mutating func heading(_ text: Substring, style: String) {
            let level: Int
            if let known = styles.firstIndex(of: style) {
                level = known + 1
            } else {
                styles.append(style)
                level = styles.count
            }
            let title = ReStructuredTextLoader.inline(text.drop { $0 == " " }).collapsingWhitespace()
            if pageTitle == nil { pageTitle = title }
            builder.append(.heading(level: min(level, 6)), title, anchor: anchor ?? title.slugified())
            anchor = nil
        }

        /// The indented block after line `i` (blank lines inside kept), dedented: its lines and
        /// the index of the first line after it.
        func block(after i: Int, in lines: [Substring]) -> (lines: [Substring], next: Int) {
            var j = i + 1
            var body: [Substring] = []
            var margin = Int.max
            while j < lines.count {
                let line = lines[j]
                if line.isEmpty {
                    body.append(line)
                } else if ReStructuredTextLoader.indentation(line) > 0 {
                    margin = min(margin, ReStructuredTextLoader.indentation(line))
                    body.append(line)
                } else {
                    break
                }
                j += 1
            }
            while body.last?.isEmpty == true { body.removeLast() }
            let dedented = body.map { line -> Substring in
                var l = line
                var removed = 0
                while removed < margin, let first = l.first, first == " " || first == "\t" {
                    removed += first == "\t" ? 8 : 1
                    l = l.dropFirst()
                }
                return l
            }
            return (dedented, j)
        }

        /// Paragraphs of an indented block read as text (an admonition's content).
        mutating func text(_ body: [Substring]) {
            for line in body {
                if line.isEmpty { flush() } else { paragraph.append(ReStructuredTextLoader.inline(line)) }
            }
            flush()
        }

        mutating func run(_ lines: [Substring]) {
            var i = 0
            var literalNext = false
            while i < lines.count {
                let line = lines[i]
                // Overlined title: adornment, title, the same adornment.
                if paragraph.isEmpty, i + 2 < lines.count, let mark = line.first,
                    ReStructuredTextLoader.adornments.contains(mark), line.count >= 3,
                    line.allSatisfy({ $0 == mark }), lines[i + 2] == line, !lines[i + 1].isEmpty
                {
                    heading(lines[i + 1], style: "over" + String(mark))
                    i += 3
                    continue
                }
                if paragraph.count == 1,
                    let mark = ReStructuredTextLoader.underline(line, under: Substring(paragraph[0]))
                {
                    let title = paragraph.removeFirst()
                    heading(Substring(title), style: String(mark))
                    i += 1
                    continue
                }
                if line.isEmpty {
                    flush()
                    i += 1
                    if literalNext {
                        let (body, next) = block(after: i - 1, in: lines)
                        if !body.isEmpty {
                            builder.append(.code, body.joined(separator: "\n"))
                            i = next
                        }
                        literalNext = false
                    }
                    continue
                }
                if paragraph.isEmpty, line.hasPrefix("..") {
                    let (body, next) = block(after: i, in: lines)
                    if let (name, argument) = ReStructuredTextLoader.directive(line) {
                        let content = body.drop { $0.isEmpty || $0.first == ":" }
                        if ReStructuredTextLoader.codeDirectives.contains(name) {
                            if !content.isEmpty { builder.append(.code, content.joined(separator: "\n")) }
                        } else if !ReStructuredTextLoader.hiddenDirectives.contains(name) {
                            // An admonition's argument is its first words; a version note's is
                            // the version; a described object's (`function:: f(x)`) its signature.
                            if !argument.isEmpty {
                                let prefix = ReStructuredTextLoader.versionNotes[name].map { "\($0) " } ?? ""
                                paragraph.append(prefix + ReStructuredTextLoader.inline(argument))
                                flush()
                            }
                            text(Array(content))
                        }
                    } else if line.hasPrefix(".. _"), line.hasSuffix(":") {
                        anchor = String(line.dropFirst(4).dropLast())
                    }
                    i = next
                    continue
                }
                if paragraph.isEmpty, ReStructuredTextLoader.indentation(line) > 0 {
                    // A block quote (or a literal block whose `::` paragraph ended above).
                    let (body, next) = block(after: i - 1, in: lines)
                    if literalNext {
                        builder.append(.code, body.joined(separator: "\n"))
                        literalNext = false
                    } else {
                        text(body)
                    }
                    i = next
                    continue
                }
                var content = Substring(line)
                if content.hasSuffix("::") {
                    literalNext = true
                    content = content.dropLast(content.hasSuffix(" ::") ? 3 : 1)
                    if content.isEmpty {
                        i += 1
                        continue
                    }
                }
                // A simple table's rule lines ("=====  =====") carry no text.
                if content.allSatisfy({ $0 == "=" || $0 == " " }) {
                    i += 1
                    continue
                }
                paragraph.append(ReStructuredTextLoader.inline(content))
                i += 1
            }
            flush()
        }
    }
}
