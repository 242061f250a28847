import Embeddings
import KnowledgeBase

/// Something the cascade's RAG tier can search: a ``Retriever`` over one knowledge base, or a
/// service's view of a tenant's knowledge base that swaps in a new index when an ingest job ends.
public protocol PassageSearching: Sendable {
    /// The model queries are embedded with (its id prices the embedding).
    var embedder: any Embedder { get }

    /// The `k` best chunks for `query` (see ``Retriever/search(_:k:mode:filter:)``).
    func search(_ query: String, k: Int, mode: SearchMode, filter: SearchFilter?) async throws -> [SearchResult]
}

extension Retriever: PassageSearching {}
