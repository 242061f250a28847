/// A parsed document, chunked and fingerprinted, ready to be written with its vectors.
public struct PreparedDocument: Sendable {
    public var collection: String
    public var parsed: ParsedDocument
    public var contentHash: String
    public var pipeline: String
    public var byteSize: Int
    public var chunks: [ChunkDraft]
    /// SHA-256 of each chunk's embedding text, parallel to `chunks`: the vector cache key.
    public var textHashes: [String]
    /// The text embedded for each chunk, parallel to `chunks`.
    public var embeddingTexts: [String]
}
