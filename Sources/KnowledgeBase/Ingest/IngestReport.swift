/// What an ingest run did; `cascade ingest --json` prints it as is.
public struct IngestReport: Hashable, Sendable, Codable {
    public struct Failure: Hashable, Sendable, Codable {
        public var source: String
        public var error: String
    }

    public var documentsAdded = 0
    public var documentsUpdated = 0
    public var documentsUnchanged = 0
    public var documentsRemoved = 0
    public var documentsFailed = 0
    /// Chunks whose text was newly embedded (cache hits and unchanged documents excluded).
    public var chunksEmbedded = 0
    /// Chunks written in this run (added or updated documents).
    public var chunksWritten = 0
    /// Files skipped because their type is not supported (not failures).
    public var skipped: [Failure] = []
    public var failures: [Failure] = []
    /// Wall time of the run in milliseconds (`elapsed_ms`, the one name and unit of every command).
    public var elapsedMilliseconds = 0.0
    public var collection = ""
    public var embeddingModel = ""

    public init() {}

    enum CodingKeys: String, CodingKey {
        case documentsAdded = "documents_added"
        case documentsUpdated = "documents_updated"
        case documentsUnchanged = "documents_unchanged"
        case documentsRemoved = "documents_removed"
        case documentsFailed = "documents_failed"
        case chunksEmbedded = "chunks_embedded"
        case chunksWritten = "chunks_written"
        case skipped
        case failures
        case elapsedMilliseconds = "elapsed_ms"
        case collection
        case embeddingModel = "embedding_model"
    }
}
