/// Stands for a knowledge base's model when its files are missing and only keyword search is
/// asked for (BM25 needs no vectors): it carries the model's id and dimension, and any attempt to
/// embed fails with the reason the model could not be loaded, so nothing degrades silently.
public struct UnavailableEmbedder: Embedder {
    public let modelID: String
    public let dimension: Int
    public let reason: EmbeddingError
    public var maxTokens: Int { 512 }
    public var preferredBatchSize: Int { 1 }

    public init(modelID: String, dimension: Int, reason: EmbeddingError) {
        self.modelID = modelID
        self.dimension = dimension
        self.reason = reason
    }

    /// A rough word count; only used for reporting when the model is absent.
    public func tokenCount(of text: String) -> Int { text.split(whereSeparator: \.isWhitespace).count }

    public func embed(_ texts: [String]) async throws -> [[Float]] { throw reason }
}
