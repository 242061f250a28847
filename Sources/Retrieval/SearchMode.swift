/// Which signals a search uses.
public enum SearchMode: String, CaseIterable, Codable, Sendable {
    /// Vector and keyword lists fused: robust to both paraphrase and exact terms (the default).
    case hybrid
    /// Semantic similarity of embeddings only.
    case vector
    /// BM25 over words only.
    case keyword
}
