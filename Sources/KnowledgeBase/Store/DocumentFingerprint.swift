/// What decides whether a stored document must be re-processed: the bytes it came from and the
/// pipeline (chunker settings + embedding model) that turned them into chunks and vectors.
public struct DocumentFingerprint: Hashable, Sendable {
    public var contentHash: String
    public var pipeline: String
    /// The file the document came from (without `#id`), so prune can spare files that failed to load.
    public var sourceFile: String

    public init(contentHash: String, pipeline: String, sourceFile: String) {
        self.contentHash = contentHash
        self.pipeline = pipeline
        self.sourceFile = sourceFile
    }
}
