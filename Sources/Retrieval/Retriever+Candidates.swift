import KnowledgeBase
import VectorSearch

extension Retriever {
    /// What hybrid fusion works from, for one query: the vector and keyword candidate lists with
    /// their scores, and the exact cosines of keyword candidates the vector list lacks. Used to
    /// study fusion rules offline (`cascade eval retrieval --dump-candidates`).
    public struct Candidates: Sendable {
        public var vector: [(chunkID: Int64, cosine: Double)]
        public var keyword: [(chunkID: Int64, bm25: Double)]
        public var exactCosine: [Int64: Double]
    }

    public func candidates(text: String, vector: [Float], depth: Int) throws -> Candidates {
        var v = vector
        VectorMath.normalize(&v)
        let vectorHits = try store.vectorSearch(vectors, query: v, k: depth).map { ($0.chunkID, Double($0.score)) }
        let keywordHits = try store.keywordSearch(text, limit: depth).map { ($0.chunkID, $0.score) }
        let inVector = Set(vectorHits.map(\.0))
        let missing = keywordHits.map(\.0).filter { !inVector.contains($0) }
        let exact = try store.vectorScores(vectors, query: v, chunkIDs: missing).mapValues(Double.init)
        return Candidates(vector: vectorHits, keyword: keywordHits, exactCosine: exact)
    }
}
