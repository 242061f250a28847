/// Why embedding failed, worded so the user knows what to do next.
public enum EmbeddingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The embedder returned no vector for a text.
    case emptyResult(model: String)
    /// The model files are missing or unusable.
    case modelUnavailable(model: String, reason: String)
    /// An unknown embedder name was requested.
    case unknownEmbedder(String)
    /// A model file exists but its contents are not what the model needs.
    case invalidModelFile(path: String, reason: String)
    /// A remote embedding service failed.
    case serviceFailed(reason: String)

    public var description: String {
        switch self {
        case .emptyResult(let model):
            "embedder \(model) returned no vector"
        case .modelUnavailable(let model, let reason):
            "model \(model) is unavailable: \(reason)"
        case .unknownEmbedder(let name):
            "unknown embedder '\(name)': use one of: \(EmbedderRegistry.names.joined(separator: ", "))"
        case .invalidModelFile(let path, let reason):
            "model file \(path) is unusable: \(reason); fetch it again with tools/fetch-model"
        case .serviceFailed(let reason):
            "embedding service failed: \(reason)"
        }
    }
}
