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
    static let navigationMarkers = ["nav", "menu", "toc", "sidebar", "breadcrumb", "nosearch", "skip-link"]
    static let blockElements: Set<String> = [
        "p", "div", "br", "li", "ul", "ol", "table", "tr", "td", "th", "thead", "tbody", "blockquote", "dl", "dt",
        "dd", "hr", "section", "article", "main", "body", "center", "figure", "figcaption", "caption",
    ]
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
                metadata: ["format": formatName])
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
        var lastNamedAnchor: String?
        var preDepth = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func flush() {
            if !pending.isEmpty {
                let text = HTMLEntities.decode(String(decoding: pending, as: UTF8.self))
                builder.append(pendingKind, text, anchor: pendingAnchor)
            }
            pending.removeAll(keepingCapacity: true)
            pendingKind = preDepth > 0 ? .code : .paragraph
            pendingAnchor = nil
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
            if let level = Self.headingLevel(tag.name) {
                flush()
                if !tag.isClosing {
                    pendingKind = .heading(level: level)
                    pendingAnchor = tag.attributes["id"] ?? lastNamedAnchor
                    lastNamedAnchor = nil
                }
                return
            }
            if tag.name == "pre" {
                flush()
                preDepth = max(0, preDepth + (tag.isClosing ? -1 : 1))
                pendingKind = preDepth > 0 ? .code : .paragraph
                return
            }
            if HTMLLoader.blockElements.contains(tag.name) {
                if preDepth > 0 {
                    pending.append(UInt8(ascii: "\n"))
                } else if case .heading = pendingKind {
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
            if tag.attributes["role"] == "navigation" { return true }
            if tag.attributes["aria-hidden"] == "true" { return true }
            for key in ["class", "id"] {
                guard let value = tag.attributes[key]?.lowercased() else { continue }
                let words = value.split { $0 == " " || $0 == "_" || $0 == "-" }
                if words.contains(where: { HTMLLoader.navigationMarkers.contains(String($0)) }) { return true }
                if HTMLLoader.navigationMarkers.contains(value) { return true }
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
