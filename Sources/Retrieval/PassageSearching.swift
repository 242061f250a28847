import Embeddings
import KnowledgeBase

/// Something the cascade's RAG tier can search: a ``Retriever`` over one knowledge base, or a
/// service's view of a tenant's knowledge base that swaps in a new index when an ingest job ends.
public protocol PassageSearching: Sendable {
    /// The model queries are embedded with (its id prices the embedding).
    var embedder: any Embedder { get }

    /// The `k` best chunks for `query` (see ``Retriever/search(_:k:mode:filter:)``), with the
    /// query's vector and the model that embedded it (nil in keyword mode), so a caller comparing
    /// passages with the question (the RAG tier choosing what to quote) does not embed it again.
    func searchKeepingQueryVector(_ query: String, k: Int, mode: SearchMode, filter: SearchFilter?) async throws
        -> (results: [SearchResult], query: QueryVector?)

    /// The first `count` chunks of each document, in reading order (see
    /// ``KnowledgeBaseStore/openingChunks(of:count:)``): what the RAG tier may also quote from a
    /// page it cites.
    func openingChunks(of documents: [(collection: String, docID: String)], count: Int) throws -> [StoredChunk]

    /// The chunk after each of `chunkIDs` in its document (see
    /// ``KnowledgeBaseStore/followingChunks(of:)``): where an example a quote introduces goes on.
    func followingChunks(of chunkIDs: [Int64]) throws -> [Int64: StoredChunk]

    /// What each of `documents` marks as code (see ``KnowledgeBaseStore/codeTerms(of:)``), for
    /// those that mark any: the RAG tier prefers a sentence naming one.
    func codeTerms(of documents: [DocumentKey]) throws -> [DocumentKey: CodeTermSet]

    /// How many chunks' text, heading or title contain every word of `term` (as the keyword
    /// index matches words: case-folded and stemmed), counted up to `limit`.
    func chunksMentioning(_ term: String, upTo limit: Int) throws -> Int

    /// Chunks searched (the loaded index's size).
    var indexedChunks: Int { get }
}

/// A query's vector and the model it came from (a vector is only comparable with that model's).
public struct QueryVector: Sendable, Hashable {
    public var model: String
    public var vector: [Float]

    public init(model: String, vector: [Float]) {
        self.model = model
        self.vector = vector
    }
}

extension PassageSearching {
    /// The `k` best chunks for `query`, without the query's vector.
    public func search(_ query: String, k: Int, mode: SearchMode, filter: SearchFilter?) async throws
        -> [SearchResult]
    {
        try await searchKeepingQueryVector(query, k: k, mode: mode, filter: filter).results
    }
}

extension Retriever: PassageSearching {
    public func searchKeepingQueryVector(_ query: String, k: Int, mode: SearchMode, filter: SearchFilter?)
        async throws -> (results: [SearchResult], query: QueryVector?)
    {
        let trimmed = try Self.validated(query: query, k: k)
        let vector = mode == .keyword ? nil : try await embedder.embed(trimmed)
        let results = try rank(text: trimmed, vector: vector, k: k, mode: mode, filter: filter)
        return (results, vector.map { QueryVector(model: embedder.modelID, vector: $0) })
    }

    public func openingChunks(of documents: [(collection: String, docID: String)], count: Int) throws
        -> [StoredChunk]
    {
        try store.openingChunks(of: documents, count: count)
    }

    public func followingChunks(of chunkIDs: [Int64]) throws -> [Int64: StoredChunk] {
        try store.followingChunks(of: chunkIDs)
    }

    public func codeTerms(of documents: [DocumentKey]) throws -> [DocumentKey: CodeTermSet] {
        try store.codeTerms(of: documents)
    }

    public var indexedChunks: Int { vectors.count }

    public func chunksMentioning(_ term: String, upTo limit: Int) throws -> Int {
        try store.mentions(term, limit: limit)
    }
}
