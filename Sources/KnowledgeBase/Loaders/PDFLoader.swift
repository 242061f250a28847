import Foundation

/// PDF through Poppler's `pdftotext` (Debian package `poppler-utils`): each page's text, with
/// paragraphs split on blank lines. Without the tool the file fails with the install command.
public struct PDFLoader: DocumentLoader {
    public var fileExtensions: Set<String> { ["pdf"] }
    public var formatName: String { "pdf" }

    public init() {}

    public func load(_ data: Data, context: LoadContext) throws(IngestError) -> [ParsedDocument] {
        guard data.starts(with: Array("%PDF".utf8)) else {
            throw .malformed(source: context.relativePath, line: nil, reason: "not a PDF file (no %PDF header)")
        }
        let output = try ExtractionTool(name: "pdftotext", package: "poppler-utils").run(
            ["-enc", "UTF-8", "-q", context.fileURL.path, "-"], source: context.relativePath,
            failure: "damaged or encrypted PDF?")
        let text = String(decoding: output, as: UTF8.self)
        var builder = DocumentTextBuilder()
        for page in text.split(separator: "\u{0C}") {
            for paragraph in page.components(separatedBy: "\n\n") { builder.append(.paragraph, paragraph) }
        }
        guard !builder.blocks.isEmpty else { throw .noContent(source: context.relativePath) }
        let title = builder.blocks.first.map { String($0.text.prefix(120)) } ?? context.relativePath
        return [
            builder.build(
                docID: context.relativePath, source: context.relativePath, title: title,
                metadata: ["format": formatName])
        ]
    }
}
