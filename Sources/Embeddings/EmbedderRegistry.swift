import Foundation

/// Maps user-facing embedder names and stored model ids to embedders, so a knowledge base opens
/// with the same model that built it without the user naming it again.
public enum EmbedderRegistry {
    /// Names accepted by `--embedder`.
    public static let names = ["minilm", "minilm-int8", "hashing", "http"]

    /// The embedder used when none is named: MiniLM. Without its files this is an error saying
    /// how to get them, never a silent switch to the hashing embedder (a knowledge base built with
    /// it is tied to a toy model and retrieves about half as well); `--embedder hashing` asks for
    /// that one on purpose.
    public static func defaultEmbedder() throws(EmbeddingError) -> any Embedder {
        guard MiniLMEmbedder.isAvailable else {
            throw .modelUnavailable(
                model: MiniLMEmbedder.defaultModelID,
                reason:
                    "its files are not in \(MiniLMEmbedder.defaultDirectory().path); run tools/fetch-model (or set CASCADE_MODEL_DIR to the model folder), or pass --embedder hashing to use the toy hashing embedder on purpose"
            )
        }
        return try MiniLMEmbedder(directory: MiniLMEmbedder.defaultDirectory())
    }

    /// The embedder called `name` on the command line. `http` reads its endpoint from the
    /// environment (see ``HTTPEmbedder/Configuration/fromEnvironment(_:)``) and probes its dimension.
    public static func embedder(named name: String) async throws -> any Embedder {
        switch name.lowercased() {
        case "hashing": return HashingEmbedder()
        case "minilm", "all-minilm-l6-v2", MiniLMEmbedder.defaultModelID.lowercased():
            return try MiniLMEmbedder(directory: MiniLMEmbedder.defaultDirectory())
        case "minilm-int8", MiniLMEmbedder.int8ModelID.lowercased():
            return try MiniLMEmbedder(directory: MiniLMEmbedder.defaultDirectory(), precision: .int8)
        case "http": return try await HTTPEmbedder.connect(HTTPEmbedder.Configuration.fromEnvironment())
        default: throw EmbeddingError.unknownEmbedder(name)
        }
    }

    /// The dimension of the vectors model `modelID` makes, when this build knows the model (nil for
    /// a hosted model or an unknown id, whose dimension only its vectors can tell).
    public static func knownDimension(ofModelID modelID: String) -> Int? {
        if modelID.hasPrefix("hashing-v1-"), let size = Int(modelID.dropFirst("hashing-v1-".count)), size > 0 {
            return size
        }
        if modelID == MiniLMEmbedder.defaultModelID || modelID == MiniLMEmbedder.int8ModelID
            || MiniLMEmbedder.retiredInt8ModelIDs.contains(modelID)
        {
            return 384
        }
        return nil
    }

    /// The embedder that produces vectors with model id `modelID` and `dimension` (as recorded in a store).
    public static func embedder(forModelID modelID: String, dimension: Int? = nil) throws(EmbeddingError)
        -> any Embedder
    {
        if modelID.hasPrefix("hashing-v1-"), let size = Int(modelID.dropFirst("hashing-v1-".count)), size > 0 {
            return HashingEmbedder(dimension: size)
        }
        if modelID == MiniLMEmbedder.defaultModelID {
            return try MiniLMEmbedder(directory: MiniLMEmbedder.defaultDirectory())
        }
        if modelID == MiniLMEmbedder.int8ModelID {
            return try MiniLMEmbedder(directory: MiniLMEmbedder.defaultDirectory(), precision: .int8)
        }
        if MiniLMEmbedder.retiredInt8ModelIDs.contains(modelID) {
            throw .modelUnavailable(
                model: modelID,
                reason: "these vectors come from an earlier int8 encoder, which this build no longer has; "
                    + "run `cascade reindex --embedder minilm-int8` to re-embed the knowledge base")
        }
        if modelID.hasPrefix("http:"), let dimension {
            var configuration = try HTTPEmbedder.Configuration.fromEnvironment()
            guard "http:\(configuration.model)" == modelID else {
                throw .modelUnavailable(
                    model: modelID,
                    reason: "CASCADE_EMBEDDINGS_MODEL is '\(configuration.model)'; set it to '\(modelID.dropFirst(5))'")
            }
            configuration.model = String(modelID.dropFirst(5))
            return HTTPEmbedder(configuration: configuration, dimension: dimension)
        }
        throw .modelUnavailable(model: modelID, reason: "no embedder for this model id is available in this build")
    }
}
