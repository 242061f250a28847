import Embeddings
import Foundation
import KnowledgeBase
import VectorSearch

/// Searches one knowledge base by vector similarity, BM25 keywords, or both fused.
///
/// Opening loads every vector into one contiguous matrix (exact BLAS search); the retriever is
/// then immutable and `Sendable`, so a server can share one instance across concurrent requests.
public struct Retriever: Sendable {
    public let store: KnowledgeBaseStore
    public let embedder: any Embedder
    /// Every vector of the store's model, in memory (float32 or int8, as the store says).
    public let vectors: ChunkVectorIndex
    public var fusion = ScoreFusion()
    public var rankFusion = RankFusion()

    /// Longest query accepted, in characters: enough for a pasted error message, not a document.
    public static let maxQueryCharacters = 4096

    /// Opens a retriever over `store` with the embedder that built it.
    /// - Throws: ``StoreError/empty(path:)`` for an empty store, ``StoreError/modelMismatch(stored:requested:)``
    ///   when `embedder` is not the store's model.
    public init(store: KnowledgeBaseStore, embedder: (any Embedder)? = nil) throws {
        guard let model = try store.embeddingModel() else { throw StoreError.empty(path: store.path) }
        let chosen = try embedder ?? EmbedderRegistry.embedder(forModelID: model.id, dimension: model.dimension)
        guard chosen.modelID == model.id else {
            throw StoreError.modelMismatch(stored: model.id, requested: chosen.modelID)
        }
        self.store = store
        self.embedder = chosen
        self.vectors = try store.loadVectorIndex(model: model.id, dimension: model.dimension)
    }

    /// A retriever over an index already loaded from `store` (a service builds the next index
    /// inside the transaction that writes its documents).
    public init(store: KnowledgeBaseStore, embedder: any Embedder, vectors: ChunkVectorIndex) {
        self.store = store
        self.embedder = embedder
        self.vectors = vectors
    }

    /// The `k` best chunks for `query`.
    /// - Parameters:
    ///   - mode: which signals to use; hybrid fuses vector and keyword candidate lists.
    ///   - filter: restricts results before ranking, so k results come back whenever k chunks match.
    public func search(
        _ query: String, k: Int = 10, mode: SearchMode = .hybrid, filter: SearchFilter? = nil
    ) async throws -> [SearchResult] {
        try await searchKeepingQueryVector(query, k: k, mode: mode, filter: filter).results
    }

    /// Checks a query and `k` before any work: the trimmed query, or the reason it is refused.
    public static func validated(query: String, k: Int) throws(RetrievalError) -> String {
        let trimmed = query.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .emptyQuery }
        guard trimmed.count <= maxQueryCharacters else {
            throw .queryTooLong(characters: trimmed.count, limit: maxQueryCharacters)
        }
        guard (1...1000).contains(k) else { throw .invalidK(k) }
        return trimmed
    }

    /// The synchronous part of a search, once the query is embedded (or for a caller's own vector).
    ///
    /// Separate from ``search(_:k:mode:filter:)`` so a server can embed outside any lock and rank
    /// against one consistent generation of the index and the database.
    /// - Parameters:
    ///   - text: the query text (needed by every mode but `vector`).
    ///   - vector: the query vector (needed by every mode but `keyword`); normalised here.
    /// - Throws: ``RetrievalError`` when a needed input is missing, or the vector has the wrong
    ///   dimension or non-finite values.
    public func rank(
        text: String?, vector: [Float]?, k: Int, mode: SearchMode, filter: SearchFilter? = nil
    ) throws -> [SearchResult] {
        guard (1...1000).contains(k) else { throw RetrievalError.invalidK(k) }
        if mode != .vector, text == nil {
            throw RetrievalError.missingInput("\(mode.rawValue) search needs query text")
        }
        var queryVector: [Float]?
        if mode != .keyword {
            guard var v = vector else {
                throw RetrievalError.missingInput("\(mode.rawValue) search needs a query vector")
            }
            guard v.count == vectors.dimension else {
                throw RetrievalError.invalidVector(
                    "the vector has \(v.count) dimensions; this knowledge base's model (\(vectors.model)) has \(vectors.dimension)"
                )
            }
            guard v.allSatisfy(\.isFinite) else {
                throw RetrievalError.invalidVector("the vector must hold finite numbers only")
            }
            VectorMath.normalize(&v)
            queryVector = v
        }
        let trimmed = text ?? ""
        let fused = mode == .hybrid || mode == .rrf
        let depth = fused ? max(k * 4, 50) : k

        var vectorHits: [(id: Int64, score: Float)] = []
        var keywordHits: [(chunkID: Int64, score: Double)] = []
        if let queryVector {
            vectorHits = try store.vectorSearch(vectors, query: queryVector, k: depth, filter: filter).map {
                ($0.chunkID, $0.score)
            }
        }
        if mode != .vector {
            keywordHits = try store.keywordSearch(trimmed, limit: depth, filter: filter)
        }

        var vectorInfo: [Int64: (rank: Int, score: Double)] = [:]
        for (i, hit) in vectorHits.enumerated() { vectorInfo[hit.id] = (i + 1, Double(hit.score)) }
        var keywordInfo: [Int64: (rank: Int, score: Double)] = [:]
        for (i, hit) in keywordHits.enumerated() { keywordInfo[hit.chunkID] = (i + 1, hit.score) }

        // Keyword hits outside the vector list get their exact cosine: it ranks them in hybrid mode
        // and is their `vectorScore`, so a chunk found only by its words is not taken for one
        // unlike the question (its confidence collapsed to about 0 when it was the right answer).
        var exact: [Int64: Double] = [:]
        if let queryVector, mode == .hybrid || mode == .rrf {
            let inVector = Set(vectorHits.map(\.id))
            let missing = keywordHits.map(\.chunkID).filter { !inVector.contains($0) }
            exact = try store.vectorScores(vectors, query: queryVector, chunkIDs: missing).mapValues(Double.init)
        }
        let ranked: [(id: Int64, score: Double)]
        switch mode {
        case .vector: ranked = vectorHits.map { ($0.id, Double($0.score)) }
        case .keyword: ranked = keywordHits.map { ($0.chunkID, $0.score) }
        case .rrf: ranked = rankFusion.fuse([vectorHits.map(\.id), keywordHits.map(\.chunkID)])
        case .hybrid:
            ranked = fusion.fuse(
                vector: vectorHits.map { ($0.id, Double($0.score)) },
                keyword: keywordHits.map { ($0.chunkID, $0.score) },
                exactCosine: exact)
        }
        let top = Array(ranked.prefix(k))
        let chunks = try store.chunks(ids: top.map(\.id))
        let byID = Dictionary(chunks.map { ($0.chunkID, $0) }, uniquingKeysWith: { a, _ in a })
        var results: [SearchResult] = []
        for (id, score) in top {
            guard let chunk = byID[id] else { continue }
            results.append(
                SearchResult(
                    rank: results.count + 1, chunk: chunk, score: score,
                    vectorScore: vectorInfo[id]?.score ?? exact[id],
                    keywordScore: keywordInfo[id]?.score, vectorRank: vectorInfo[id]?.rank,
                    keywordRank: keywordInfo[id]?.rank))
        }
        return results
    }
}
