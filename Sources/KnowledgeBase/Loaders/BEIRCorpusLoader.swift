import Foundation

/// A BEIR `corpus.jsonl`: one JSON object per line with `_id`, optional `title` and `text`.
///
/// Each line becomes its own document whose `docID` is the `_id`, so retrieval results can be
/// scored against BEIR qrels. A malformed line fails the whole file with its line number: a
/// partly loaded evaluation corpus would silently skew every metric computed on it.
public struct BEIRCorpusLoader: DocumentLoader {
    public var fileExtensions: Set<String> { ["jsonl"] }
    public var formatName: String { "beir" }

    public init() {}

    private struct Line: Decodable {
        var _id: String?
        var id: String?
        var title: String?
        var text: String?
        var metadata: [String: String]?

        enum CodingKeys: String, CodingKey { case _id, id, title, text, metadata }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            // Ids are strings in BEIR, but some exports write them as numbers.
            if let s = try? c.decodeIfPresent(String.self, forKey: ._id) {
                _id = s
            } else if let n = try? c.decodeIfPresent(Int.self, forKey: ._id) {
                _id = String(n)
            }
            id = try? c.decodeIfPresent(String.self, forKey: .id)
            title = try c.decodeIfPresent(String.self, forKey: .title)
            text = try c.decodeIfPresent(String.self, forKey: .text)
            metadata = try? c.decodeIfPresent([String: String].self, forKey: .metadata)
        }
    }

    public func load(_ data: Data, context: LoadContext) throws(IngestError) -> [ParsedDocument] {
        let text = try decodeText(data, source: context.relativePath)
        let decoder = JSONDecoder()
        var documents: [ParsedDocument] = []
        var seen = Set<String>()
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = offset + 1
            guard rawLine.contains(where: { !$0.isWhitespace }) else { continue }
            let line: Line
            do {
                line = try decoder.decode(Line.self, from: Data(rawLine.utf8))
            } catch {
                throw .malformed(
                    source: context.relativePath, line: lineNumber,
                    reason: "not a JSON object with \"_id\" and \"text\"")
            }
            guard let id = line._id ?? line.id, !id.isEmpty else {
                throw .malformed(source: context.relativePath, line: lineNumber, reason: "missing \"_id\"")
            }
            guard seen.insert(id).inserted else {
                throw .malformed(source: context.relativePath, line: lineNumber, reason: "duplicate \"_id\" \(id)")
            }
            let title = line.title ?? ""
            let body = line.text ?? ""
            // A `\u0000` escape decodes to a NUL, which SQLite would cut the stored text at.
            if ([id, title, body] + (line.metadata.map { Array($0.keys) + Array($0.values) } ?? [])).contains(where: {
                $0.unicodeScalars.contains("\u{0}")
            }) {
                throw .malformed(
                    source: context.relativePath, line: lineNumber,
                    reason: "contains a NUL character (\\u0000), which cannot be stored exactly; remove it")
            }
            var builder = DocumentTextBuilder()
            builder.append(.paragraph, body)
            guard !builder.blocks.isEmpty || !title.isEmpty else { continue }
            var metadata = line.metadata ?? [:]
            metadata["format"] = formatName
            let document = builder.build(
                docID: id, source: "\(context.relativePath)#\(id)", title: title.isEmpty ? id : title,
                metadata: metadata)
            documents.append(document)
        }
        guard !documents.isEmpty else { throw .noContent(source: context.relativePath) }
        return documents
    }
}
