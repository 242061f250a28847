import Foundation

/// What a loader knows about the file it is reading.
public struct LoadContext: Sendable {
    /// The file on disk (PDF extraction needs the path itself).
    public var fileURL: URL
    /// The path relative to the ingest root, used as source and default document id.
    public var relativePath: String

    public init(fileURL: URL, relativePath: String) {
        self.fileURL = fileURL
        self.relativePath = relativePath
    }
}

/// Turns the bytes of one file into one or more parsed documents.
///
/// Most formats give one document per file; a BEIR `corpus.jsonl` gives one per line.
public protocol DocumentLoader: Sendable {
    /// Lower-cased file name extensions this loader reads (without the dot).
    var fileExtensions: Set<String> { get }
    /// Short format name recorded in document metadata.
    var formatName: String { get }

    func load(_ data: Data, context: LoadContext) throws(IngestError) -> [ParsedDocument]
}

extension DocumentLoader {
    /// Decodes `data` as UTF-8 text, refusing binary content (a NUL byte anywhere) and invalid encodings with a message
    /// the admin can act on. A leading byte-order mark is dropped.
    func decodeText(_ data: Data, source: String) throws(IngestError) -> String {
        guard !data.isEmpty else { throw .emptyFile(source: source) }
        // Without a byte-order mark, and with CRLF (Windows) or CR line ends made LF: every
        // loader splits on "\n", which Swift does not find inside "\r\n".
        let bytes = LineEndings.normalized([UInt8](data))
        // Anywhere in the file, not only its start: SQLite would cut the stored text at a NUL.
        if bytes.contains(0) { throw .binaryContent(source: source) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let offset = Self.firstInvalidUTF8Offset(bytes) ?? 0
            throw .invalidUTF8(source: source, byteOffset: offset)
        }
        guard text.contains(where: { !$0.isWhitespace }) else { throw .emptyFile(source: source) }
        return text
    }

    static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var consumed = 0
        var lastGood = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                consumed += UTF8.width(scalar)
                lastGood = consumed
            case .emptyInput:
                return nil
            case .error:
                return lastGood
            }
        }
    }
}
