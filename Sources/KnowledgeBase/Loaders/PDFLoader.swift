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
        guard let tool = Self.findTool("pdftotext") else {
            throw .extractionToolMissing(source: context.relativePath, tool: "pdftotext", package: "poppler-utils")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-enc", "UTF-8", "-q", context.fileURL.path, "-"]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        let output: Data
        do {
            try process.run()
            output = stdout.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
        } catch {
            throw .unreadable(source: context.relativePath, reason: "pdftotext could not run: \(error)")
        }
        guard process.terminationStatus == 0 else {
            throw .malformed(
                source: context.relativePath, line: nil, reason: "pdftotext failed (damaged or encrypted PDF?)")
        }
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

    static func findTool(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
