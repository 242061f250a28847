/// Counts and sizes of a knowledge base, for `cascade stats`.
public struct KnowledgeBaseStats: Hashable, Sendable, Codable {
    public var documents: Int
    public var chunks: Int
    /// Vectors stored for the knowledge base's model (cached vectors of other models excluded).
    public var vectors: Int
    /// Chunks that have no vector yet (an interrupted ingest or reindex).
    public var chunksWithoutVector: Int
    public var collections: [String]
    public var embeddingModel: String?
    public var dimension: Int?
    public var fileBytes: Int64
    public var textBytes: Int64
    public var vectorBytes: Int64
    public var schemaVersion: String
}
