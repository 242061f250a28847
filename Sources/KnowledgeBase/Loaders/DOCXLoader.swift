import Foundation

/// Word documents (`.docx`) through pandoc (Debian package `pandoc`), the way PDFs go through
/// `pdftotext`: pandoc converts the document to GitHub-flavoured Markdown, which
/// ``MarkdownLoader`` reads, so Word headings become sections with anchors, tables become rows
/// and lists stay lists. Without the tool the file fails with the install command.
///
/// A `.docx` is a ZIP archive; anything else is refused before pandoc sees it, and so is an
/// archive whose directory says it expands past ``maxUncompressedBytes`` (a decompression bomb).
/// pandoc then runs under ``ExtractionTool``'s memory and CPU limits and ``timeout`` seconds, so
/// an archive that lies about its sizes fails too, and the node stays healthy.
public struct DOCXLoader: DocumentLoader {
    public var fileExtensions: Set<String> { ["docx"] }
    public var formatName: String { "docx" }
    public var timeout: TimeInterval = 60
    /// The most a document's archive may expand to (its XML, styles and media together).
    public var maxUncompressedBytes = 256 << 20
    /// pandoc's address-space limit.
    public var memoryLimitBytes = 2 << 30

    public init() {}

    public func load(_ data: Data, context: LoadContext) throws(IngestError) -> [ParsedDocument] {
        guard data.starts(with: [0x50, 0x4B, 0x03, 0x04]) else {
            throw .malformed(
                source: context.relativePath, line: nil, reason: "not a Word .docx file (not a ZIP archive)")
        }
        let directory: ZIPDirectory
        do {
            directory = try ZIPDirectory.read(data)
        } catch .notAnArchive(let reason) {
            throw .malformed(source: context.relativePath, line: nil, reason: "not a Word .docx file: \(reason)")
        } catch {
            throw .malformed(
                source: context.relativePath, line: nil,
                reason: "the archive is too large to open safely (ZIP64 or over \(ZIPDirectory.maxEntries) entries)")
        }
        guard directory.uncompressedBytes <= maxUncompressedBytes else {
            throw .malformed(
                source: context.relativePath, line: nil,
                reason: "the archive expands to \(directory.uncompressedBytes >> 20) MB from \(data.count >> 10) KB; "
                    + "the limit is \(maxUncompressedBytes >> 20) MB (a compression bomb, or split the document)")
        }
        // No filters, no Lua, no external resources: only the conversion.
        let output = try ExtractionTool(
            name: "pandoc", package: "pandoc", timeout: timeout, memoryBytes: memoryLimitBytes
        ).run(
            ["--from=docx", "--to=gfm", "--wrap=none", "--sandbox", context.fileURL.path], source: context.relativePath,
            failure: "pandoc could not read it: damaged or not a Word document?")
        guard !output.isEmpty else { throw .noContent(source: context.relativePath) }
        var documents = try MarkdownLoader().load(output, context: context)
        for index in documents.indices { documents[index].metadata["format"] = formatName }
        return documents
    }
}
