import Foundation

/// Help-centre article exports, which is what support teams hold: a `.json` file in one of the
/// shapes the common help desks produce.
///
/// - **Zendesk Help Center** (`GET /api/v2/help_center/articles.json`, or its pages concatenated
///   into one array): `{"articles": [{"id", "title", "body" (HTML), "html_url", "section_id",
///   "updated_at", "draft", "locale", …}]}`.
/// - **Intercom** (`GET /articles`): `{"type": "list", "data": [{"type": "article", "id", "title",
///   "description", "body" (HTML), "url", "state", "updated_at" (Unix seconds), "parent_id", …}]}`.
///
/// Each published article becomes a document whose citation (`source`) is the article's public
/// URL; drafts (`"draft": true`, `"state": "draft"`) and articles without a body are skipped. The
/// article's `updated_at` is part of its content hash, so re-ingesting a newer export redoes only
/// the articles that changed. A malformed export fails with the line of the problem.
public struct HelpCenterExportLoader: DocumentLoader {
    public var fileExtensions: Set<String> { ["json"] }
    public var formatName: String { "helpcenter" }

    /// Articles in one export (a bound on the work one file can cause).
    public static let maxArticles = 100_000

    public init() {}

    enum Flavor: String {
        case zendesk, intercom
    }

    public func load(_ data: Data, context: LoadContext) throws(IngestError) -> [ParsedDocument] {
        let text = try decodeText(data, source: context.relativePath)
        let bytes = Array(text.utf8)
        let source = context.relativePath
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
        } catch {
            let description = (error as NSError).userInfo["NSDebugDescription"] as? String ?? ""
            let offset = Self.characterOffset(in: description) ?? 0
            throw .malformed(
                source: source, line: Self.line(ofByte: offset, in: bytes),
                reason: "not valid JSON (\(description.isEmpty ? "syntax error" : description))")
        }
        guard let object = root as? [String: Any] else {
            throw .malformed(source: source, line: 1, reason: Self.expectedShapes)
        }
        let flavor: Flavor
        let items: [Any]
        if let articles = object["articles"] as? [Any] {
            (flavor, items) = (.zendesk, articles)
        } else if object["type"] as? String == "list", let list = object["data"] as? [Any] {
            (flavor, items) = (.intercom, list)
        } else {
            throw .malformed(source: source, line: 1, reason: Self.expectedShapes)
        }
        guard items.count <= Self.maxArticles else {
            throw .malformed(
                source: source, line: 1,
                reason: "\(items.count) articles; split the export into files of at most \(Self.maxArticles)")
        }
        let lines = Self.elementLines(of: flavor == .zendesk ? "articles" : "data", in: bytes)
        var documents: [ParsedDocument] = []
        var seen = Set<String>()
        for (index, item) in items.enumerated() {
            let line = index < lines.count ? lines[index] : nil
            func fail(_ reason: String) -> IngestError {
                .malformed(source: source, line: line, reason: "article \(index + 1): \(reason)")
            }
            guard let article = item as? [String: Any] else { throw fail("not a JSON object") }
            let id: String
            if let string = article["id"] as? String, !string.isEmpty {
                id = string
            } else if let number = article["id"] as? Int {
                id = String(number)
            } else if let number = article["id"] as? NSNumber {
                id = number.stringValue
            } else {
                throw fail("missing \"id\"")
            }
            guard id.utf8.count <= 200, seen.insert(id).inserted else {
                throw fail("duplicate or oversized \"id\" \(id.prefix(40))")
            }
            if flavor == .intercom, let type = article["type"] as? String, type != "article" { continue }
            // Drafts are not published help: never answer from them.
            if flavor == .zendesk, article["draft"] as? Bool == true { continue }
            if flavor == .intercom, let state = article["state"] as? String, state != "published" { continue }
            guard let title = article["title"] as? String else { throw fail("missing \"title\"") }
            let urlKey = flavor == .zendesk ? "html_url" : "url"
            guard let url = article[urlKey] as? String, let parsed = URL(string: url),
                ["http", "https"].contains(parsed.scheme?.lowercased() ?? "")
            else { throw fail("missing or invalid \"\(urlKey)\" (the article's public URL, which answers cite)") }
            let body = article["body"] as? String ?? ""
            let updated: String
            if let stamp = article["updated_at"] as? String {
                updated = stamp
            } else if let seconds = article["updated_at"] as? NSNumber {
                updated = JSONDateFormat.string(Date(timeIntervalSince1970: seconds.doubleValue))
            } else {
                updated = ""
            }
            let strings = [id, title, body, url, updated]
            if strings.contains(where: { $0.unicodeScalars.contains("\u{0}") }) {
                throw fail("contains a NUL character (\\u0000), which cannot be stored exactly; remove it")
            }
            // The body is HTML: read it like any page (headings, lists, tables, no scripts).
            var parsedBody: ParsedDocument?
            if body.contains(where: { !$0.isWhitespace }) {
                let context = LoadContext(fileURL: context.fileURL, relativePath: url)
                parsedBody = try? HTMLLoader().load(Data(body.utf8), context: context).first
            }
            let description = (article["description"] as? String) ?? ""
            guard parsedBody != nil || !description.isEmpty else { continue }
            // The description (Intercom's summary) first, then the body's blocks as the HTML
            // loader read them; the builder computes every block's offset.
            var builder = DocumentTextBuilder()
            if !description.isEmpty { builder.append(.paragraph, description) }
            for block in parsedBody?.blocks ?? [] { builder.append(block.kind, block.text, anchor: block.anchor) }
            var document = builder.build(docID: id, source: url, title: title, metadata: [:])
            document.metadata = ["format": formatName, "export": flavor.rawValue, "updated_at": updated]
            // The body's code terms, as the HTML loader found them.
            if let terms = parsedBody?.metadata[CodeTerms.metadataKey] {
                document.metadata[CodeTerms.metadataKey] = terms
            }
            for key in ["section_id", "locale", "parent_id"] {
                if let value = article[key], !(value is NSNull) { document.metadata[key] = "\(value)" }
            }
            documents.append(document)
        }
        guard !documents.isEmpty else { throw .noContent(source: source) }
        return documents
    }

    static let expectedShapes =
        "not a help-centre export: expected a Zendesk Help Center export ({\"articles\": [...]}) or an Intercom articles export ({\"type\": \"list\", \"data\": [...]})"

    /// `Invalid value around character 45.` → 45.
    static func characterOffset(in description: String) -> Int? {
        guard let range = description.range(of: "character ") else { return nil }
        return Int(description[range.upperBound...].prefix { $0.isNumber })
    }

    static func line(ofByte offset: Int, in bytes: [UInt8]) -> Int {
        1 + bytes.prefix(min(offset, bytes.count)).reduce(0) { $1 == 10 ? $0 + 1 : $0 }
    }

    /// The line on which each element of the top-level array `key` starts: one pass over the
    /// bytes, tracking strings and nesting, so an article's error can name its line.
    static func elementLines(of key: String, in bytes: [UInt8]) -> [Int] {
        var lines: [Int] = []
        var line = 1
        var depth = 0
        var inString = false
        var escaped = false
        var stringStart = 0
        var lastKey: [UInt8] = []
        var arrayDepth: Int?
        var expectElement = false
        let target = Array(key.utf8)
        for (i, byte) in bytes.enumerated() {
            if byte == 10 { line += 1 }
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 1 { lastKey = Array(bytes[(stringStart + 1)..<i]) }
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                if expectElement, let d = arrayDepth, depth == d {
                    lines.append(line)
                    expectElement = false
                }
                inString = true
                stringStart = i
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                if expectElement, let d = arrayDepth, depth == d {
                    lines.append(line)
                    expectElement = false
                }
                depth += 1
                if byte == UInt8(ascii: "["), depth == 2, arrayDepth == nil, lastKey == target {
                    arrayDepth = depth
                    expectElement = true
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if let d = arrayDepth, depth == d { arrayDepth = -1 }
                depth -= 1
            case UInt8(ascii: ","):
                if let d = arrayDepth, depth == d { expectElement = true }
            default:
                if expectElement, let d = arrayDepth, depth == d, !HTMLLoader.Scanner.isSpace(byte) {
                    lines.append(line)
                    expectElement = false
                }
            }
        }
        return lines
    }
}

/// ISO-8601 UTC with seconds, for Unix timestamps of exports.
enum JSONDateFormat {
    static func string(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
