/// A document after loading: its plain text and the structure the chunker needs.
///
/// Loaders turn every format into this one shape, so chunking, storage and citation work the
/// same for Markdown, HTML, text, PDF and BEIR corpora.
public struct ParsedDocument: Hashable, Sendable {
    /// Stable external identifier: the path relative to the ingest root, or a BEIR `_id`.
    public var docID: String
    /// Where the document came from (a relative file path, with `#id` for a corpus line).
    public var source: String
    public var title: String
    /// The extracted plain text; block offsets point into it (in Unicode scalars).
    public var text: String
    /// Headings, paragraphs and code, in reading order.
    public var blocks: [TextBlock]
    /// Free-form metadata (format, original URL…), stored alongside the document.
    public var metadata: [String: String]

    public init(
        docID: String, source: String, title: String, text: String, blocks: [TextBlock],
        metadata: [String: String] = [:]
    ) {
        self.docID = docID
        self.source = source
        self.title = title
        self.text = text
        self.blocks = blocks
        self.metadata = metadata
    }
}

/// One structural unit of a document.
public struct TextBlock: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// A heading of the given level (1 = top).
        case heading(level: Int)
        case paragraph
        /// Preformatted text whose line breaks matter.
        case code
    }

    public var kind: Kind
    public var text: String
    /// For headings: the fragment identifier a link can point at (`#anchor`). For other blocks:
    /// an anchor placed right before the block (a reference entry's `<a name="round">`), which a
    /// chunk starting at or after the block, in the same section, cites instead of the heading's.
    public var anchor: String?
    /// Offset of the block's first character in ``ParsedDocument/text``, in Unicode scalars.
    public var startOffset: Int
    /// The block explains the one before it and means nothing without it: the numbered call-out
    /// list under a code example ("<1> Delete the remote-tracking branches …"). The chunker
    /// keeps it in the same chunk as that block.
    public var keepWithPrevious: Bool

    public init(kind: Kind, text: String, anchor: String? = nil, startOffset: Int, keepWithPrevious: Bool = false) {
        self.kind = kind
        self.text = text
        self.anchor = anchor
        self.startOffset = startOffset
        self.keepWithPrevious = keepWithPrevious
    }
}

/// Accumulates blocks and the document text they point into, keeping offsets exact.
struct DocumentTextBuilder {
    private(set) var text = ""
    private(set) var blocks: [TextBlock] = []
    private var offset = 0

    mutating func append(
        _ kind: TextBlock.Kind, _ blockText: String, anchor: String? = nil, keepWithPrevious: Bool = false
    ) {
        let trimmed = kind == .code ? blockText.trimmingBlankLines() : blockText.collapsingWhitespace()
        guard !trimmed.isEmpty else { return }
        if !text.isEmpty {
            text += "\n\n"
            offset += 2
        }
        blocks.append(
            TextBlock(
                kind: kind, text: trimmed, anchor: anchor, startOffset: offset,
                keepWithPrevious: keepWithPrevious && !blocks.isEmpty))
        text += trimmed
        offset += trimmed.unicodeScalars.count
    }

    func build(docID: String, source: String, title: String, metadata: [String: String]) -> ParsedDocument {
        ParsedDocument(docID: docID, source: source, title: title, text: text, blocks: blocks, metadata: metadata)
    }
}

extension String {
    /// Runs of whitespace (including newlines) become one space; ends are trimmed.
    func collapsingWhitespace() -> String {
        var out = ""
        out.reserveCapacity(utf8.count)
        var pendingSpace = false
        for scalar in unicodeScalars {
            if scalar.properties.isWhitespace || scalar == "\u{00A0}" {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.unicodeScalars.append(" ") }
                pendingSpace = false
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Leading and trailing blank lines and trailing spaces removed; inner layout kept.
    func trimmingBlankLines() -> String {
        var lines = split(separator: "\n", omittingEmptySubsequences: false).map { line in
            var l = Substring(line)
            while let last = l.last, last == " " || last == "\t" || last == "\r" { l.removeLast() }
            return l
        }
        while let first = lines.first, first.allSatisfy(\.isWhitespace) { lines.removeFirst() }
        while let last = lines.last, last.allSatisfy(\.isWhitespace) { lines.removeLast() }
        return lines.joined(separator: "\n")
    }

    /// A GitHub-style fragment identifier: lower-cased, punctuation dropped, spaces to hyphens.
    func slugified() -> String {
        var out = ""
        for scalar in lowercased().unicodeScalars {
            if scalar.properties.isAlphabetic || scalar.properties.numericType != nil || scalar == "_" || scalar == "-"
            {
                out.unicodeScalars.append(scalar)
            } else if scalar == " " {
                out.append("-")
            }
        }
        return out
    }
}
