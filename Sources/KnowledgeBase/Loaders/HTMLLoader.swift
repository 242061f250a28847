import Foundation

/// HTML: visible text without markup, scripts, styles, SVG or navigation; headings keep their
/// `id` (or a preceding `<a name>`) as the anchor results cite.
///
/// A small tolerant scanner, not a full HTML5 parser: support pages are rarely well-formed, and
/// what matters here is the reading-order text and its structure. Navigation is recognised by
/// element (`nav`, `header`, `footer`, `aside`, `form`) and by `class`/`id`/`role` naming it
/// (`nav`, `menu`, `toc`, `sidebar`, `breadcrumb`, `nosearch`).
public struct HTMLLoader: DocumentLoader {
    public var fileExtensions: Set<String> { ["html", "htm", "xhtml"] }
    public var formatName: String { "html" }

    public init() {}

    static let skippedElements: Set<String> = [
        "script", "style", "noscript", "svg", "nav", "header", "footer", "aside", "form", "template", "iframe",
        "button", "select", "textarea", "object", "canvas", "map", "head",
    ]
    static let navigationMarkers = [
        "nav", "menu", "toc", "sidebar", "breadcrumb", "nosearch", "skip-link", "modal",
        // Publican (DocBook: Debian's handbooks): "Prev · Up · Home · Next" lists and the
        // "Download the ebook" banner above every page.
        "docnav", "banner",
    ]
    /// Classes of the "link to this heading" anchors documentation generators put in headings
    /// (Sphinx and MkDocs `headerlink`, texinfo `copiable-link`, GitHub `anchor`…).
    static let permalinkMarkers = [
        "headerlink", "anchor", "anchorjs", "permalink", "copiable", "heading-link", "hash-link",
    ]
    /// What such anchors show instead of words; never part of a heading's text.
    static let permalinkGlyphs: Set<Character> = ["¶", "§", "#", "🔗", "⚓", "◆", "\u{F0C1}"]
    /// Elements that hold the page's content: never skipped as navigation because of a class,
    /// id or role (``Scanner/shouldSkip(_:)``).
    static let contentContainers: Set<String> = ["html", "body", "main", "article"]
    /// Words that make the marker after them describe a layout, not a navigation block
    /// (`no-sidebar`, `has-toc`, `with-nav`, `without-menu`).
    static let layoutModifiers: Set<String> = ["no", "has", "with", "without"]
    /// Whole `class` values that mark navigation blocks of documentation generators (DocBook's
    /// `navheader`/`navfooter`, Sphinx's `related`, Doxygen's `titlearea` and `footer`).
    /// Apache httpd's manual: the site header and breadcrumb above every page (`page-header`,
    /// `path`), the sidebar with the table of contents and "See also" links (`quickview`), the
    /// "Available Languages: de | en | es …" bars (`toplang`, `bottomlang`) and the
    /// back-to-top arrows after every section (`top`).
    static let navigationClasses: Set<String> = [
        "navheader", "navfooter", "related", "footer", "titlearea",
        "page-header", "path", "quickview", "toplang", "bottomlang", "top",
    ]
    /// How a page's "last modified" stamp opens (SQLite's "This page last modified on …", MediaWiki's
    /// "This page was last edited on …", Docusaurus's and MkDocs' "Last updated on …"/"Last update:").
    /// Such a line is about the file, not the subject: kept, it becomes a chunk of its own at the
    /// end of a page that outranks prose for any question sharing the page's vocabulary.
    static let pageStampOpenings = [
        "this page last modified", "this page was last modified", "this page was last edited",
        "this page was last updated", "page last modified", "page last updated", "last modified:",
        "last modified on", "last updated:", "last updated on", "last update:", "last edited on",
    ]

    /// Whether a paragraph is only a page's modification stamp: one of ``pageStampOpenings``, a
    /// date (some digit) and nothing long after it.
    static func isPageStamp(_ text: String) -> Bool {
        // Every paragraph is asked: a long one is answered without copying it.
        guard text.utf8.count <= 1_000 else { return false }
        let folded = text.collapsingWhitespace().lowercased()
        return folded.count <= 120 && folded.contains(where: \.isNumber)
            && pageStampOpenings.contains(where: { folded.hasPrefix($0) })
    }
    static let blockElements: Set<String> = [
        "p", "div", "br", "li", "ul", "ol", "table", "tr", "thead", "tbody", "blockquote", "dl", "dt",
        "dd", "hr", "section", "article", "main", "body", "center", "figure", "figcaption", "caption",
    ]
    /// Elements that set a name in running text as code: a term of the page (``CodeTerms``).
    /// DocBook marks commands, options and files as `<code class="command">` and the like,
    /// Sphinx its literals as `<code class="literal">`, AsciiDoc and Markdown renderers `<code>`.
    static let inlineCodeElements: Set<String> = ["code", "tt", "kbd", "samp"]
    static let voidElements: Set<String> = [
        "br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr",
    ]

    public func load(_ data: Data, context: LoadContext) throws(IngestError) -> [ParsedDocument] {
        let html = try decodeText(data, source: context.relativePath)
        var scanner = Scanner(bytes: Array(html.utf8))
        scanner.run()
        guard !scanner.builder.blocks.isEmpty else { throw .noContent(source: context.relativePath) }
        let title =
            scanner.title.map { HTMLEntities.decode($0).collapsingWhitespace() }.flatMap { $0.isEmpty ? nil : $0 }
            ?? scanner.builder.blocks.first { if case .heading = $0.kind { true } else { false } }?.text
            ?? context.fileURL.deletingPathExtension().lastPathComponent
        return [
            scanner.builder.build(
                docID: context.relativePath, source: context.relativePath, title: title,
                metadata: scanner.codeTerms.adding(to: ["format": formatName]))
        ]
    }

    struct Scanner {
        let bytes: [UInt8]
        var position = 0
        var builder = DocumentTextBuilder()
        var title: String?
        var pending: [UInt8] = []
        var pendingKind: TextBlock.Kind = .paragraph
        var pendingAnchor: String?
        /// The last id or `<a name>` seen, for the heading (or reference entry) that follows it.
        var lastNamedAnchor: String? { didSet { namedAnchorAt = pending.count } }
        /// Where in `pending` it was seen: text before it (a paragraph left open, as in
        /// `…columns.<a name="pragma_x"></a><h>PRAGMA x</h>`) is not text between it and the heading.
        var namedAnchorAt = 0
        var preDepth = 0
        /// Inside a call-out list (asciidoc's `colist`, DocBook's `calloutlist`): the elements
        /// that end it (`ol`/`table`/`dl`, nested ones counted), and the items numbered so far.
        var callouts: (element: String, depth: Int, item: Int)?
        /// Inside a table cell, blocks (a cell's paragraphs) do not end the row's line.
        var cellDepth = 0
        /// Inside inline code (``HTMLLoader/inlineCodeElements``, not in `<pre>`): how many such
        /// elements are open and where in `pending` the outermost one's text starts.
        var inlineCode: (depth: Int, start: Int)?
        /// The document's code terms (``CodeTerms``).
        var codeTerms = CodeTerms.Collector()

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func flush() {
            if !pending.isEmpty {
                var text = HTMLEntities.decode(String(decoding: pending, as: UTF8.self))
                if case .heading = pendingKind { text = Self.withoutPermalinkGlyphs(text) }
                if pendingKind == .paragraph, HTMLLoader.isPageStamp(text) { text = "" }
                var anchor = pendingAnchor
                if anchor == nil, pendingKind == .paragraph, let named = lastNamedAnchor,
                    !pending[..<min(namedAnchorAt, pending.count)].contains(where: { !Self.isSpace($0) })
                {
                    // `<a name="round"></a><dt>round(X)…`: a reference page's entry, which a chunk
                    // starting there cites instead of its section.
                    anchor = named
                }
                builder.append(pendingKind, text, anchor: anchor, keepWithPrevious: callouts != nil)
                // An id seen before this text belonged to it, not to a later heading.
                if pending[min(namedAnchorAt, pending.count)...].contains(where: { !Self.isSpace($0) }) {
                    lastNamedAnchor = nil
                }
            }
            pending.removeAll(keepingCapacity: true)
            // A block inside inline code (rare, and not a name): the term is dropped.
            inlineCode = nil
            namedAnchorAt = 0
            pendingKind = preDepth > 0 ? .code : .paragraph
            pendingAnchor = nil
        }

        /// A heading's text without the permalink sign a generator appends or prepends to it.
        static func withoutPermalinkGlyphs(_ text: String) -> String {
            var characters = Substring(text)
            while let last = characters.last, last.isWhitespace || HTMLLoader.permalinkGlyphs.contains(last) {
                characters.removeLast()
            }
            while let first = characters.first, first.isWhitespace || HTMLLoader.permalinkGlyphs.contains(first) {
                characters.removeFirst()
            }
            return String(characters)
        }

        var inHeading: Bool { if case .heading = pendingKind { true } else { false } }

        /// A "link to this heading" anchor: by class, by title/aria-label, or by showing only a
        /// permalink sign.
        func isPermalink(_ tag: Tag) -> Bool {
            guard tag.name == "a" else { return false }
            let classes = (tag.attributes["class"] ?? "").lowercased().split { $0 == " " || $0 == "-" || $0 == "_" }
            if classes.contains(where: { HTMLLoader.permalinkMarkers.contains(String($0)) }) { return true }
            let label = ((tag.attributes["title"] ?? "") + " " + (tag.attributes["aria-label"] ?? "")).lowercased()
            if label.contains("permalink") || label.contains("permanent link") || label.contains("link to this") {
                return true
            }
            // The element's text, when it is short: only a permalink sign.
            // (Bounded: a heading full of unclosed links costs at most 128 bytes each.)
            guard let end = findClosing("a", from: position, before: min(bytes.count, position + 128)) else {
                return false
            }
            let inner = HTMLEntities.decode(String(decoding: bytes[position..<end], as: UTF8.self))
            let visible = inner.replacingOccurrences(of: "<[^>]*>", with: "", options: .regularExpression)
            return visible.contains { HTMLLoader.permalinkGlyphs.contains($0) }
                && visible.allSatisfy { $0.isWhitespace || HTMLLoader.permalinkGlyphs.contains($0) }
        }

        mutating func run() {
            while position < bytes.count {
                if bytes[position] == UInt8(ascii: "<") {
                    handleMarkup()
                } else {
                    pending.append(bytes[position])
                    position += 1
                }
            }
            flush()
        }

        mutating func handleMarkup() {
            if hasPrefix("<!--") {
                position = find("-->", from: position + 4).map { $0 + 3 } ?? bytes.count
                return
            }
            if hasPrefix("<![CDATA[") {
                let end = find("]]>", from: position + 9) ?? bytes.count
                pending.append(contentsOf: bytes[(position + 9)..<end])
                position = min(bytes.count, end + 3)
                return
            }
            if hasPrefix("<!") || hasPrefix("<?") {
                position = find(">", from: position).map { $0 + 1 } ?? bytes.count
                return
            }
            guard let tag = parseTag() else {
                pending.append(bytes[position])
                position += 1
                return
            }
            if tag.name == "title", !tag.isClosing {
                let end = findClosing("title", from: position) ?? position
                title = String(decoding: bytes[position..<end], as: UTF8.self)
                skipElement("title")
                return
            }
            if inHeading, !tag.isClosing, tag.name == "a" {
                // Inside a heading, links are the heading's words (Sphinx wraps them in a
                // "toc-backref" link), except the permalink, which names the anchor instead.
                if isPermalink(tag) {
                    if pendingAnchor == nil, let href = tag.attributes["href"], href.hasPrefix("#"), href.count > 1 {
                        pendingAnchor = String(href.dropFirst())
                    }
                    if !tag.selfClosing { skipElement("a") }
                }
                if tag.attributes["name"] != nil || tag.attributes["id"] != nil, pendingAnchor == nil {
                    pendingAnchor = tag.attributes["name"] ?? tag.attributes["id"]
                }
                return
            }
            if !tag.isClosing,
                tag.name == "section" || tag.name == "span"
                    || (tag.name == "div" && tag.attributes["class"]?.contains("section") == true),
                let id = tag.attributes["id"], !shouldSkip(tag)
            {
                // Sphinx puts the id on the section around the heading, texinfo on an empty span
                // before it; text in between clears it (see flush()).
                lastNamedAnchor = id
            }
            if !tag.isClosing, !tag.selfClosing, tag.name == "a", isPermalink(tag) {
                // A permalink outside a heading (texinfo puts them on definition terms): no text.
                if let name = tag.attributes["name"] ?? tag.attributes["id"] { lastNamedAnchor = name }
                skipElement("a")
                return
            }
            if !tag.isClosing, !tag.selfClosing, shouldSkip(tag) {
                if tag.name == "head" {
                    // The title lives in <head>; take it before skipping the rest.
                    // Every search stays inside the <head> that skipElement consumes next, so the
                    // work is linear in the page however many <head>s it has.
                    let headEnd = findClosing("head", from: position) ?? bytes.count
                    if title == nil, let start = find("<title", from: position, before: headEnd),
                        let open = find(">", from: start, before: headEnd),
                        let end = findClosing("title", from: open, before: headEnd)
                    {
                        title = String(decoding: bytes[(open + 1)..<end], as: UTF8.self)
                    }
                }
                if !HTMLLoader.voidElements.contains(tag.name) { skipElement(tag.name) }
                return
            }
            if tag.name == "a", !tag.isClosing, let name = tag.attributes["name"] ?? tag.attributes["id"] {
                lastNamedAnchor = name
            }
            if tag.name == "div", !tag.isClosing, callouts == nil,
                let classes = tag.attributes["class"]?.split(separator: " "),
                classes.contains("colist") || classes.contains("calloutlist")
            {
                flush()
                callouts = ("", 0, 0)
                return
            }
            if var list = callouts {
                if list.element.isEmpty, !tag.isClosing, ["ol", "ul", "table", "dl"].contains(tag.name) {
                    list.element = tag.name
                }
                if tag.name == list.element { list.depth += tag.isClosing ? -1 : 1 }
                if tag.name == "li", !tag.isClosing, list.depth == 1 {
                    // asciidoc numbers the items only by their place; the code marks them <1>, <2>…
                    flush()
                    list.item += 1
                    pending.append(contentsOf: Array("<\(list.item)> ".utf8))
                    callouts = list
                    return
                }
                callouts = list
                if tag.isClosing, tag.name == list.element, list.depth == 0 {
                    flush()
                    callouts = nil
                    return
                }
            }
            if let level = Self.headingLevel(tag.name) {
                flush()
                if !tag.isClosing {
                    pendingKind = .heading(level: level)
                    pendingAnchor = tag.attributes["id"] ?? lastNamedAnchor
                    lastNamedAnchor = nil
                }
                return
            }
            if HTMLLoader.inlineCodeElements.contains(tag.name), preDepth == 0, !tag.selfClosing {
                if !tag.isClosing {
                    inlineCode = inlineCode.map { ($0.depth + 1, $0.start) } ?? (1, pending.count)
                } else if let code = inlineCode {
                    if code.depth > 1 {
                        inlineCode = (code.depth - 1, code.start)
                    } else {
                        let text = pending[min(code.start, pending.count)...]
                        codeTerms.add(HTMLEntities.decode(String(decoding: text, as: UTF8.self)))
                        inlineCode = nil
                    }
                }
                return
            }
            if tag.name == "pre" {
                flush()
                preDepth = max(0, preDepth + (tag.isClosing ? -1 : 1))
                pendingKind = preDepth > 0 ? .code : .paragraph
                return
            }
            if tag.name == "td" || tag.name == "th", preDepth == 0 {
                // A table row reads as one line: its cells separated by " | ".
                if !tag.isClosing, pending.contains(where: { !Self.isSpace($0) }) {
                    pending.append(contentsOf: Array(" | ".utf8))
                } else {
                    pending.append(UInt8(ascii: " "))
                }
                cellDepth = max(0, cellDepth + (tag.isClosing ? -1 : 1))
                return
            }
            if tag.name == "tr" || tag.name == "table" { cellDepth = 0 }
            if HTMLLoader.blockElements.contains(tag.name) {
                if preDepth > 0 {
                    pending.append(UInt8(ascii: "\n"))
                } else if case .heading = pendingKind {
                    pending.append(UInt8(ascii: " "))
                } else if cellDepth > 0 {
                    pending.append(UInt8(ascii: " "))
                } else if let list = callouts, list.element == "ol" || list.element == "ul", list.depth > 0 {
                    // An item's paragraphs are one call-out: it ends at the next item.
                    pending.append(UInt8(ascii: " "))
                } else {
                    flush()
                }
            } else if tag.name == "img", let alt = tag.attributes["alt"], !alt.isEmpty {
                pending.append(contentsOf: Array(" \(alt) ".utf8))
            }
        }

        func shouldSkip(_ tag: Tag) -> Bool {
            if HTMLLoader.skippedElements.contains(tag.name) { return true }
            // The page itself and its main content are never navigation, whatever their class
            // says: Apache's manual marks pages without a sidebar `<body class="no-sidebar">`,
            // and skipping the body left such a page with no text at all.
            if HTMLLoader.contentContainers.contains(tag.name) { return false }
            if tag.attributes["role"] == "navigation" { return true }
            if tag.attributes["aria-hidden"] == "true" { return true }
            // Publican's `<p id="title">`: the site's and the documentation's logos, as links.
            if tag.name == "p", tag.attributes["id"] == "title" { return true }
            for key in ["class", "id"] {
                guard let value = tag.attributes[key]?.lowercased() else { continue }
                let split = value.split { $0 == " " || $0 == "_" || $0 == "-" }
                // "no-sidebar", "has-toc", "with-nav": a layout modifier of a block that is not
                // itself the sidebar, table of contents or navigation.
                let words = split.indices.filter {
                    $0 == 0 || !HTMLLoader.layoutModifiers.contains(String(split[$0 - 1]))
                }
                .map { split[$0] }
                if words.contains(where: { HTMLLoader.navigationMarkers.contains(String($0)) }) { return true }
                // navbar, navrow1, navpath, navigation, navheader… (Bootstrap, Doxygen, DocBook).
                if words.contains(where: { $0.hasPrefix("nav") && $0 != "navy" }) { return true }
                if HTMLLoader.navigationMarkers.contains(value) { return true }
                if HTMLLoader.navigationClasses.contains(value) { return true }
                // texinfo's `<div class="header">` is its "Next: … Previous: … Up: …" bar (javadoc's
                // holds the page's title, so look at what it starts with).
                if key == "class", value == "header", tag.name == "div",
                    find("Next:", from: position, before: min(bytes.count, position + 400)) != nil
                        || find("Previous:", from: position, before: min(bytes.count, position + 400)) != nil
                {
                    return true
                }
            }
            return false
        }

        static func headingLevel(_ name: String) -> Int? {
            // A bare `<h>` (used by SQLite's documentation for per-item headings hidden from view)
            // is a sub-section heading.
            if name == "h" { return 3 }
            guard name.count == 2, name.first == "h", let digit = name.last?.wholeNumberValue, (1...6).contains(digit)
            else { return nil }
            return digit
        }

        struct Tag {
            var name: String
            var isClosing: Bool
            var selfClosing: Bool
            var attributes: [String: String]
        }

        /// Parses the tag at `position` and moves past it; nil when `<` does not open a tag.
        mutating func parseTag() -> Tag? {
            var i = position + 1
            var isClosing = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "/") {
                isClosing = true
                i += 1
            }
            let nameStart = i
            while i < bytes.count, Self.isNameByte(bytes[i]) { i += 1 }
            guard i > nameStart, Self.isLetter(bytes[nameStart]) else { return nil }
            let name = String(decoding: bytes[nameStart..<i], as: UTF8.self).lowercased()
            var attributes: [String: String] = [:]
            var selfClosing = false
            while i < bytes.count {
                while i < bytes.count, Self.isSpace(bytes[i]) { i += 1 }
                guard i < bytes.count else { break }
                if bytes[i] == UInt8(ascii: ">") {
                    i += 1
                    break
                }
                if bytes[i] == UInt8(ascii: "/") {
                    selfClosing = true
                    i += 1
                    continue
                }
                let keyStart = i
                while i < bytes.count, !Self.isSpace(bytes[i]), bytes[i] != UInt8(ascii: "="),
                    bytes[i] != UInt8(ascii: ">")
                {
                    i += 1
                }
                let key = String(decoding: bytes[keyStart..<i], as: UTF8.self).lowercased()
                if i == keyStart {
                    i += 1
                    continue
                }
                while i < bytes.count, Self.isSpace(bytes[i]) { i += 1 }
                var value = ""
                if i < bytes.count, bytes[i] == UInt8(ascii: "=") {
                    i += 1
                    while i < bytes.count, Self.isSpace(bytes[i]) { i += 1 }
                    if i < bytes.count, bytes[i] == UInt8(ascii: "\"") || bytes[i] == UInt8(ascii: "'") {
                        let quote = bytes[i]
                        let valueStart = i + 1
                        i = valueStart
                        while i < bytes.count, bytes[i] != quote { i += 1 }
                        value = String(decoding: bytes[valueStart..<min(i, bytes.count)], as: UTF8.self)
                        i += 1
                    } else {
                        let valueStart = i
                        while i < bytes.count, !Self.isSpace(bytes[i]), bytes[i] != UInt8(ascii: ">") { i += 1 }
                        value = String(decoding: bytes[valueStart..<i], as: UTF8.self)
                    }
                }
                attributes[key] = HTMLEntities.decode(value)
            }
            position = min(i, bytes.count)
            return Tag(name: name, isClosing: isClosing, selfClosing: selfClosing, attributes: attributes)
        }

        /// Moves past the end of an element, counting nested elements of the same name.
        mutating func skipElement(_ name: String) {
            var depth = 1
            while position < bytes.count, depth > 0 {
                guard let next = find("<", from: position) else {
                    position = bytes.count
                    return
                }
                position = next
                if hasPrefix("<!--") {
                    position = find("-->", from: position + 4).map { $0 + 3 } ?? bytes.count
                    continue
                }
                if let tag = parseTag() {
                    if tag.name == name, !tag.selfClosing { depth += tag.isClosing ? -1 : 1 }
                } else {
                    position += 1
                }
            }
        }

        func findClosing(_ name: String, from start: Int, before limit: Int? = nil) -> Int? {
            let needle = Array("</\(name)".utf8)
            var i = start
            while let candidate = find("</", from: i, before: limit) {
                if candidate + needle.count <= bytes.count,
                    zip(bytes[candidate..<(candidate + needle.count)], needle).allSatisfy({ Self.lower($0) == $1 })
                {
                    return candidate
                }
                i = candidate + 2
            }
            return nil
        }

        func hasPrefix(_ s: String) -> Bool {
            let needle = Array(s.utf8)
            guard position + needle.count <= bytes.count else { return false }
            return zip(bytes[position..<(position + needle.count)], needle).allSatisfy {
                Self.lower($0) == Self.lower($1)
            }
        }

        func find(_ s: String, from start: Int, before limit: Int? = nil) -> Int? {
            let needle = Array(s.utf8)
            let end = min(limit ?? bytes.count, bytes.count)
            guard let first = needle.first, start < end else { return nil }
            var i = start
            while i + needle.count <= end {
                if bytes[i] == first, bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
                i += 1
            }
            return nil
        }

        static func lower(_ b: UInt8) -> UInt8 { (b >= 65 && b <= 90) ? b + 32 : b }
        static func isLetter(_ b: UInt8) -> Bool { (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }
        static func isNameByte(_ b: UInt8) -> Bool { isLetter(b) || (b >= 48 && b <= 57) || b == 45 || b == 58 }
        static func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 || b == 12 }
    }
}
