/// Turns text into fixed-size vectors for semantic search.
///
/// Everything that stores or compares vectors goes through this protocol, so the knowledge base
/// does not care whether vectors come from a hashing function, a local model or an HTTP service.
/// Implementations must be deterministic for a given ``modelID``: the store caches vectors by
/// (model id, text hash) and never embeds the same text twice for the same model.
public protocol Embedder: Sendable {
    /// Identifies the model *and* anything that changes its output (e.g. `hashing-v1-384`).
    /// Vectors from different model ids are never mixed in one index.
    var modelID: String { get }
    /// Length of every vector produced.
    var dimension: Int { get }
    /// Longest input, in the model's own tokens (including special tokens), that is embedded in
    /// full; longer input is truncated. The chunker keeps chunks within this bound.
    var maxTokens: Int { get }
    /// How many texts to hand to ``embed(_:)`` at once for good throughput.
    var preferredBatchSize: Int { get }

    /// Number of model tokens `text` occupies, excluding special tokens.
    func tokenCount(of text: String) -> Int

    /// Embeds each text into a unit-length vector of ``dimension`` components, in input order.
    func embed(_ texts: [String]) async throws -> [[Float]]
}

extension Embedder {
    /// Embeds a single text.
    public func embed(_ text: String) async throws -> [Float] {
        guard let vector = try await embed([text]).first else {
            throw EmbeddingError.emptyResult(model: modelID)
        }
        return vector
    }
}
