/// Maps user-facing embedder names and stored model ids to embedders, so a knowledge base opens
/// with the same model that built it without the user naming it again.
public enum EmbedderRegistry {
    /// Names accepted by `--embedder`.
    public static let names = ["hashing"]

    /// The embedder called `name` on the command line.
    public static func embedder(named name: String) throws(EmbeddingError) -> any Embedder {
        switch name.lowercased() {
        case "hashing": return HashingEmbedder()
        default: throw .unknownEmbedder(name)
        }
    }

    /// The embedder that produces vectors with model id `modelID` (as recorded in a store).
    public static func embedder(forModelID modelID: String) throws(EmbeddingError) -> any Embedder {
        if modelID.hasPrefix("hashing-v1-"), let dimension = Int(modelID.dropFirst("hashing-v1-".count)), dimension > 0
        {
            return HashingEmbedder(dimension: dimension)
        }
        throw .modelUnavailable(model: modelID, reason: "no embedder for this model id is available in this build")
    }
}
