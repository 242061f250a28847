/// A chunk produced by the ``Chunker``, before it is stored and gets an id.
public struct ChunkDraft: Hashable, Sendable {
    /// Position of the chunk within its document (0-based).
    public var ordinal: Int
    /// Headings from the top of the document down to the chunk's section.
    public var headingPath: [String]
    /// Fragment identifier of the nearest heading that has one, for citations (`page.html#anchor`).
    public var anchor: String?
    /// The chunk's body text.
    public var text: String
    /// Start and end (exclusive) of the chunk in the document text, in Unicode scalars.
    public var startOffset: Int
    public var endOffset: Int
    /// Tokens the body occupies, as counted by the embedder the chunker was configured with.
    public var tokenCount: Int

    /// The heading path joined for display: `Overview › Checkpointing`.
    public var heading: String { headingPath.joined(separator: " › ") }

    /// What gets embedded: the document title and heading path give the body its context
    /// ("Checkpointing" means something else in a WAL page than in a backup page).
    public func embeddingText(title: String) -> String {
        Self.embeddingText(title: title, headingPath: headingPath, text: text)
    }

    static func embeddingText(title: String, headingPath: [String], text: String) -> String {
        let context = ([title] + headingPath.filter { $0 != title }).joined(separator: " › ")
        return context.isEmpty ? text : context + "\n" + text
    }
}
