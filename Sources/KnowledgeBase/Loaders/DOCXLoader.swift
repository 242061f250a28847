import Foundation

/// Word documents (`.docx`) through pandoc (Debian package `pandoc`), the way PDFs go through
/// `pdftotext`: pandoc converts the document to GitHub-flavoured Markdown, which
/// ``MarkdownLoader`` reads, so Word headings become sections with anchors, tables become rows
/// and lists stay lists. Without the tool the file fails with the install command.
///
/// A `.docx` is a ZIP archive; anything else is refused before pandoc sees it, and pandoc gets
/// ``timeout`` seconds (a hostile archive cannot hold an ingest forever).
public struct DOCXLoader: DocumentLoader {
    public var fileExtensions: Set<String> { ["docx"] }
    public var formatName: String { "docx" }
    public var timeout: TimeInterval = 60

    public init() {}

    public func load(_ data: Data, context: LoadContext) throws(IngestError) -> [ParsedDocument] {
        guard data.starts(with: [0x50, 0x4B, 0x03, 0x04]) else {
            throw .malformed(
                source: context.relativePath, line: nil, reason: "not a Word .docx file (not a ZIP archive)")
        }
        // No filters, no Lua, no external resources: only the conversion.
        let output = try ExtractionTool(name: "pandoc", package: "pandoc", timeout: timeout).run(
            ["--from=docx", "--to=gfm", "--wrap=none", "--sandbox", context.fileURL.path], source: context.relativePath,
            failure: "pandoc could not read it: damaged or not a Word document?")
        guard !output.isEmpty else { throw .noContent(source: context.relativePath) }
        var documents = try MarkdownLoader().load(output, context: context)
        for index in documents.indices { documents[index].metadata["format"] = formatName }
        return documents
    }
}
