/// Maps user-facing embedder names and stored model ids to embedders, so a knowledge base opens
/// with the same model that built it without the user naming it again.
public enum EmbedderRegistry {
    /// Names accepted by `--embedder`.
    public static let names = ["minilm", "hashing"]

    /// The embedder used when none is named: MiniLM when its files are present, else hashing.
    public static func defaultEmbedder() throws(EmbeddingError) -> any Embedder {
        MiniLMEmbedder.isAvailable ? try embedder(named: "minilm") : HashingEmbedder()
    }

    /// The embedder called `name` on the command line.
    public static func embedder(named name: String) throws(EmbeddingError) -> any Embedder {
        switch name.lowercased() {
        case "hashing": return HashingEmbedder()
        case "minilm", "all-minilm-l6-v2", MiniLMEmbedder.defaultModelID.lowercased():
            return try MiniLMEmbedder(directory: MiniLMEmbedder.defaultDirectory())
        default: throw .unknownEmbedder(name)
        }
    }

    /// The embedder that produces vectors with model id `modelID` (as recorded in a store).
    public static func embedder(forModelID modelID: String) throws(EmbeddingError) -> any Embedder {
        if modelID.hasPrefix("hashing-v1-"), let dimension = Int(modelID.dropFirst("hashing-v1-".count)), dimension > 0
        {
            return HashingEmbedder(dimension: dimension)
        }
        if modelID == MiniLMEmbedder.defaultModelID {
            return try MiniLMEmbedder(directory: MiniLMEmbedder.defaultDirectory())
        }
        throw .modelUnavailable(model: modelID, reason: "no embedder for this model id is available in this build")
    }
}
