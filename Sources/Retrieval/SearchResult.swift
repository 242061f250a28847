import KnowledgeBase

/// One ranked chunk with the signals that placed it there.
public struct SearchResult: Hashable, Sendable {
    /// 1-based position in the result list.
    public var rank: Int
    public var chunk: StoredChunk
    /// The score the list is ordered by (fused score in hybrid mode).
    public var score: Double
    /// Cosine similarity to the query, when the chunk was among the vector candidates.
    public var vectorScore: Double?
    /// BM25 score (higher is better), when the chunk matched the keyword query.
    public var keywordScore: Double?
    /// 1-based rank in the vector and keyword candidate lists.
    public var vectorRank: Int?
    public var keywordRank: Int?

    public init(
        rank: Int, chunk: StoredChunk, score: Double, vectorScore: Double? = nil, keywordScore: Double? = nil,
        vectorRank: Int? = nil, keywordRank: Int? = nil
    ) {
        self.rank = rank
        self.chunk = chunk
        self.score = score
        self.vectorScore = vectorScore
        self.keywordScore = keywordScore
        self.vectorRank = vectorRank
        self.keywordRank = keywordRank
    }
}
