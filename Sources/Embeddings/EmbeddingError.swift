/// Why embedding failed, worded so the user knows what to do next.
public enum EmbeddingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The embedder returned no vector for a text.
    case emptyResult(model: String)
    /// The model files are missing or unusable.
    case modelUnavailable(model: String, reason: String)
    /// An unknown embedder name was requested.
    case unknownEmbedder(String)

    public var description: String {
        switch self {
        case .emptyResult(let model):
            "embedder \(model) returned no vector"
        case .modelUnavailable(let model, let reason):
            "model \(model) is unavailable: \(reason)"
        case .unknownEmbedder(let name):
            "unknown embedder '\(name)': use one of: hashing, minilm"
        }
    }
}
