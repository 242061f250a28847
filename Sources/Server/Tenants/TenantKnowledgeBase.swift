import Embeddings
import Foundation
import KnowledgeBase
import Retrieval

/// One tenant's knowledge base as the service serves it: the SQLite store plus the in-memory
/// vector index, shared by every concurrent request, and replaced atomically when a change lands.
///
/// A search embeds its query first (no lock held), then ranks under the read lock against one
/// generation: index and database rows of the same commit. A change (``apply(_:vectors:)``) is
/// written and its new index built inside a write transaction that readers cannot see yet; the
/// write lock is taken only for the commit and the swap, so searches see all of a job or none of
/// it and wait at most for that commit.
final class TenantKnowledgeBase: PassageSearching, @unchecked Sendable {
    // Safe: `store` and `retriever` are read and written only under `lock`.
    let path: String
    let embedder: any Embedder
    /// Queries of concurrent requests embedded together (nil: each embeds on its own).
    let batcher: EmbeddingBatcher?
    private let lock = ReadWriteLock()
    private var store: KnowledgeBaseStore?
    private var retriever: Retriever?

    /// Opens the tenant's store when it exists (a missing file stays missing until the first upload).
    init(path: String, embedder: any Embedder, batcher: EmbeddingBatcher? = nil) throws {
        self.path = path
        self.embedder = embedder
        self.batcher = batcher
        if FileManager.default.fileExists(atPath: path) {
            let store = try KnowledgeBaseStore(path: path)
            self.store = store
            if try store.embeddingModel() != nil {
                self.retriever = try Retriever(store: store, embedder: embedder)
            }
        }
    }

    /// The store, if the tenant has one yet.
    var currentStore: KnowledgeBaseStore? { lock.withReadLock { store } }

    /// Chunks in the loaded index (0 before the first document).
    var vectorCount: Int { lock.withReadLock { retriever?.vectors.count ?? 0 } }

    func search(_ query: String, k: Int, mode: SearchMode, filter: SearchFilter?) async throws -> [SearchResult] {
        let text = try Retriever.validated(query: query, k: k)
        let vector = mode == .keyword ? nil : try await embedQuery(text)
        return try rank(text: text, vector: vector, k: k, mode: mode, filter: filter)
    }

    /// The query's vector, through the batcher when there is one.
    func embedQuery(_ text: String) async throws -> [Float] {
        if let batcher { return try await batcher.embed(text) }
        return try await embedder.embed(text)
    }

    /// Ranks against the current generation; an empty knowledge base has no results.
    func rank(text: String?, vector: [Float]?, k: Int, mode: SearchMode, filter: SearchFilter?) throws
        -> [SearchResult]
    {
        try lock.withReadLock {
            guard let retriever else { return [] }
            return try retriever.rank(text: text, vector: vector, k: k, mode: mode, filter: filter)
        }
    }

    /// Writes `changes` and swaps in the index that describes them, at one instant.
    func apply(_ changes: KnowledgeBaseChanges, vectors: [String: [Float]]) throws -> AppliedChanges {
        let store = try storeForWriting()
        return try store.apply(
            changes, model: embedder.modelID, dimension: embedder.dimension, vectors: vectors
        ) { index, commit in
            try lock.withWriteLock {
                try commit()
                self.store = store
                self.retriever = Retriever(store: store, embedder: embedder, vectors: index)
            }
        }
    }

    /// The store, created on first use: only writes (an upload that parsed) create the file.
    func storeForWriting() throws -> KnowledgeBaseStore {
        if let store = currentStore { return store }
        let store = try KnowledgeBaseStore(path: path)
        return lock.withWriteLock {
            if let existing = self.store { return existing }
            self.store = store
            return store
        }
    }
}
