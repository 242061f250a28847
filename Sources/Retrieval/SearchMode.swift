/// Which signals a search uses.
public enum SearchMode: String, CaseIterable, Codable, Sendable {
    /// Vector and keyword scores fused (``ScoreFusion``): robust to both paraphrase and exact
    /// terms (the default).
    case hybrid
    /// Vector and keyword lists fused by reciprocal rank (``RankFusion``), the common baseline.
    case rrf
    /// Semantic similarity of embeddings only.
    case vector
    /// BM25 over words only.
    case keyword
}
