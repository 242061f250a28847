/// Why a file or an ingest run failed, each message saying what was wrong and what to do.
public enum IngestError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(source: String, reason: String)
    case emptyFile(source: String)
    case binaryContent(source: String)
    case invalidUTF8(source: String, byteOffset: Int)
    case tooLarge(source: String, bytes: Int, limit: Int)
    case unsupportedType(source: String, fileExtension: String)
    case malformed(source: String, line: Int?, reason: String)
    case extractionToolMissing(source: String, tool: String, package: String)
    case noContent(source: String)
    case pathNotFound(String)

    /// The file or path the error is about.
    public var source: String {
        switch self {
        case .unreadable(let s, _), .emptyFile(let s), .binaryContent(let s), .invalidUTF8(let s, _),
            .tooLarge(let s, _, _), .unsupportedType(let s, _), .malformed(let s, _, _),
            .extractionToolMissing(let s, _, _), .noContent(let s), .pathNotFound(let s):
            s
        }
    }

    /// The file name extensions the default loaders read, for messages (the list is the loaders'
    /// own, so it cannot fall behind them).
    static let supportedExtensions = Set(Ingestor.defaultLoaders.flatMap(\.fileExtensions)).sorted().joined(
        separator: ", ")

    public var description: String {
        switch self {
        case .unreadable(_, let reason):
            "cannot read file (\(reason)); check that it exists and is readable"
        case .emptyFile:
            "file is empty; add content or remove it from the folder"
        case .binaryContent:
            "file looks binary (contains NUL bytes); only text, Markdown, AsciiDoc, HTML, PDF, Word and JSON(L) are ingested"
        case .invalidUTF8(_, let offset):
            "file is not valid UTF-8 (first bad byte at offset \(offset)); re-save it as UTF-8"
        case .tooLarge(_, let bytes, let limit):
            "file is \(bytes) bytes, over the \(limit)-byte limit; split it or raise --max-file-size"
        case .unsupportedType(_, let ext):
            "unsupported file type '.\(ext)'; skipped (supported: \(Self.supportedExtensions))"
        case .malformed(_, let line, let reason):
            if let line { "malformed input at line \(line): \(reason)" } else { "malformed input: \(reason)" }
        case .extractionToolMissing(_, let tool, let package):
            "'\(tool)' is needed to read this file; install it with: apt-get install \(package)"
        case .noContent:
            "no text could be extracted from this file"
        case .pathNotFound(let path):
            "no such file or folder: \(path)"
        }
    }
}
