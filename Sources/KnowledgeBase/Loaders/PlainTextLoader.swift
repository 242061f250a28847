import Foundation

/// Plain text: paragraphs are separated by blank lines; the first short line is the title.
/// A text file written in reStructuredText (Sphinx publishes each page's source as `.rst.txt`)
/// or AsciiDoc (Git ships its manual's sources as `.txt`) is read as such
/// (``ReStructuredTextLoader/looksLikeReStructuredText(_:)``,
/// ``AsciiDocLoader/looksLikeAsciiDoc(_:)``), so its sections and examples survive.
public struct PlainTextLoader: DocumentLoader {
    public var fileExtensions: Set<String> { ["txt", "text"] }
    public var formatName: String { "text" }

    public init() {}

    public func load(_ data: Data, context: LoadContext) throws(IngestError) -> [ParsedDocument] {
        let text = try decodeText(data, source: context.relativePath)
        if ReStructuredTextLoader.looksLikeReStructuredText(text) {
            return [ReStructuredTextLoader.parse(text, context: context)]
        }
        if AsciiDocLoader.looksLikeAsciiDoc(text) {
            return [AsciiDocLoader.parse(text, context: context, formatName: "asciidoc")]
        }
        var builder = DocumentTextBuilder()
        var paragraph: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.allSatisfy(\.isWhitespace) {
                builder.append(.paragraph, paragraph.joined(separator: "\n"))
                paragraph.removeAll()
            } else {
                paragraph.append(line)
            }
        }
        builder.append(.paragraph, paragraph.joined(separator: "\n"))
        let firstLine = text.split(separator: "\n").first.map { String($0).collapsingWhitespace() } ?? ""
        let title =
            firstLine.count <= 120 && !firstLine.isEmpty
            ? firstLine : context.fileURL.deletingPathExtension().lastPathComponent
        return [
            builder.build(
                docID: context.relativePath, source: context.relativePath, title: title,
                metadata: ["format": formatName])
        ]
    }
}
