/// One search hit: the caller's identifier for a row and its similarity to the query.
public struct ScoredRow: Hashable, Sendable {
    /// The identifier the index was built with (for the knowledge base, a chunk id).
    public var id: Int64
    /// Inner product with the query; cosine similarity when both sides are unit-normalised.
    public var score: Float

    public init(id: Int64, score: Float) {
        self.id = id
        self.score = score
    }
}
