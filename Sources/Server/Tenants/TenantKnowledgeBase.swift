import Cascade
import Embeddings
import Evaluation
import Foundation
import KnowledgeBase
import Metering
import Retrieval
import Synchronization

/// One tenant's knowledge base as the service serves it: the SQLite store plus the in-memory
/// vector index, shared by every concurrent request, and replaced atomically when a change lands.
///
/// A search embeds its query first (no lock held), then ranks under the read lock against one
/// generation: index and database rows of the same commit. A change (``apply(_:vectors:)``) is
/// written and its new index built inside a write transaction that readers cannot see yet; the
/// write lock is taken only for the commit and the swap, so searches see all of a job or none of
/// it and wait at most for that commit.
final class TenantKnowledgeBase: PassageSearching, @unchecked Sendable {
    // Safe: `store`, `retriever`, `model` and `recentlyApplied` are read and written only under `lock`.
    let path: String
    /// The embedding model queries are embedded with, and the batcher that embeds concurrent
    /// requests' queries together (nil: each embeds on its own). Changes only with the index
    /// (a shared knowledge base switched by `reindex`), at the same instant.
    struct Model: Sendable {
        var embedder: any Embedder
        var batcher: EmbeddingBatcher?
    }
    private var model: Model
    private let lock = ReadWriteLock()
    private var store: KnowledgeBaseStore?
    private var retriever: Retriever?
    /// What the latest replayed changes did, by version: a local commit's own change may be
    /// replayed by the poller's catch-up instead of its own.
    private var recentlyApplied: [Int64: AppliedChanges] = [:]
    /// With several nodes: the shared log this store is a replay of, and the tenant's name in it.
    let sharing: (log: any KnowledgeBaseLog, tenant: String)?
    /// Dates the changes appended to the shared log.
    let clock: WallClock
    /// Loads a model the shared log switches to (nil: the log must keep this node's model).
    let loadModel: (@Sendable (_ id: String, _ dimension: Int) throws -> Model)?
    /// One replay at a time (a poll and a local commit may both want to catch up).
    private let replayLock = AsyncLock()

    /// The label-free calibration of the content served, by generation: every swap of the index
    /// starts a new generation, whose calibration is computed once, in the background, on first
    /// use (stored in the knowledge base; the next start reads it back).
    private struct CalibrationState {
        var generation = 0
        var fitted: (generation: Int, value: KnowledgeBaseCalibration?)?
        var computing: Int?
    }
    private let calibrationState = Mutex(CalibrationState())

    /// Opens the tenant's store when it exists (a missing file stays missing until the first upload).
    init(
        path: String, embedder: any Embedder, batcher: EmbeddingBatcher? = nil,
        sharing: (log: any KnowledgeBaseLog, tenant: String)? = nil,
        loadModel: (@Sendable (_ id: String, _ dimension: Int) throws -> Model)? = nil, clock: WallClock = .system
    ) throws {
        self.path = path
        self.clock = clock
        self.model = Model(embedder: embedder, batcher: batcher)
        self.sharing = sharing
        self.loadModel = loadModel
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

    /// The model queries and uploads are embedded with now.
    var embedder: any Embedder { lock.withReadLock { model.embedder } }

    /// Chunks in the loaded index (0 before the first document).
    var vectorCount: Int { lock.withReadLock { retriever?.vectors.count ?? 0 } }

    func openingChunks(of documents: [(collection: String, docID: String)], count: Int) throws -> [StoredChunk] {
        try currentStore?.openingChunks(of: documents, count: count) ?? []
    }

    func followingChunks(of chunkIDs: [Int64]) throws -> [Int64: StoredChunk] {
        try currentStore?.followingChunks(of: chunkIDs) ?? [:]
    }

    func codeTerms(of documents: [DocumentKey]) throws -> [DocumentKey: CodeTermSet] {
        try currentStore?.codeTerms(of: documents) ?? [:]
    }

    var indexedChunks: Int { vectorCount }

    /// Without a store nothing is retrieved, so no word's frequency is ever asked for.
    func chunksMentioning(_ term: String, upTo limit: Int) throws -> Int {
        try currentStore?.mentions(term, limit: limit) ?? 0
    }

    func searchKeepingQueryVector(_ query: String, k: Int, mode: SearchMode, filter: SearchFilter?) async throws
        -> (results: [SearchResult], query: QueryVector?)
    {
        let text = try Retriever.validated(query: query, k: k)
        guard mode != .keyword else {
            return (try rank(text: text, vector: nil, k: k, mode: mode, filter: filter), nil)
        }
        // A model switch landing between embedding and ranking: embed again with the new model
        // (a vector of one model is never ranked against another's index).
        for _ in 0..<3 {
            let model = lock.withReadLock { self.model }
            let vector = try await Self.embed(text, with: model)
            if let results = try rank(
                text: text, vector: vector, embeddedWith: model.embedder.modelID, k: k, mode: mode, filter: filter)
            {
                return (results, QueryVector(model: model.embedder.modelID, vector: vector))
            }
        }
        throw StoreError.conflict("the knowledge base switched embedding models during the search; retry")
    }

    private static func embed(_ text: String, with model: Model) async throws -> [Float] {
        if let batcher = model.batcher { return try await batcher.embed(text) }
        return try await model.embedder.embed(text)
    }

    /// Ranks against the current generation; an empty knowledge base has no results.
    func rank(text: String?, vector: [Float]?, k: Int, mode: SearchMode, filter: SearchFilter?) throws
        -> [SearchResult]
    {
        try rank(text: text, vector: vector, embeddedWith: nil, k: k, mode: mode, filter: filter) ?? []
    }

    /// As ``rank(text:vector:k:mode:filter:)``; nil when the index now serves another model than
    /// `model`, the one `vector` was embedded with.
    private func rank(
        text: String?, vector: [Float]?, embeddedWith model: String?, k: Int, mode: SearchMode, filter: SearchFilter?
    ) throws -> [SearchResult]? {
        try lock.withReadLock {
            if let model, model != self.model.embedder.modelID { return nil }
            guard let retriever else { return [] }
            return try retriever.rank(text: text, vector: vector, k: k, mode: mode, filter: filter)
        }
    }

    /// Makes `changes` part of the tenant's knowledge base: written here (one node), or appended
    /// to the shared log and then replayed here like every other node does (several nodes; the
    /// log decides the order, so all nodes end with the same documents).
    func commit(_ changes: KnowledgeBaseChanges, vectors: [String: [Float]], model embedder: any Embedder)
        async throws -> AppliedChanges
    {
        guard let sharing else { return try apply(changes, vectors: vectors) }
        let store = currentStore
        // The model the vectors were embedded with: the log refuses it if the knowledge base has
        // switched to another meanwhile (upload again).
        let record = try KnowledgeBaseLogRecord(
            changes: changes, vectors: vectors, model: embedder.modelID, dimension: embedder.dimension
        ) { missing in
            try store?.cachedVectors(model: embedder.modelID, textHashes: missing) ?? [:]
        }
        let version = try await sharing.log.append(tenant: sharing.tenant, record: record, now: clock.now())
        _ = try await catchUp()
        // Applied by this catch-up or by the poller's, whichever took the replay lock first.
        guard let mine = lock.withReadLock({ recentlyApplied[version] }) else {
            throw StoreError.corrupted(table: "kb_log", row: version, reason: "the change was stored but not replayed")
        }
        return mine
    }

    /// The last shared change this node holds (0 without a store or a log).
    var replayedVersion: Int64 { (try? currentStore?.logVersion()) ?? 0 }

    /// Replays the shared log's changes this node does not hold yet, in order; each swaps the
    /// index at one instant, so a search sees a whole change or none of it. Returns what each did.
    @discardableResult
    func catchUp() async throws -> [Int64: AppliedChanges] {
        guard let sharing else { return [:] }
        return try await replayLock.withLock {
            let store = try self.storeForWriting()
            var next = self.lock.withReadLock { self.model }
            let loadModel = self.loadModel
            let applied = try await store.replay(
                sharing.log, tenant: sharing.tenant, model: (next.embedder.modelID, next.embedder.dimension),
                adopt: loadModel.map { load in { id, dimension in next = try load(id, dimension) } },
                publish: { index, commit in
                    try self.lock.withWriteLock {
                        try commit()
                        self.store = store
                        self.model = next
                        self.retriever = Retriever(store: store, embedder: next.embedder, vectors: index)
                        self.calibrationState.withLock { $0.generation += 1 }
                    }
                })
            self.lock.withWriteLock {
                self.recentlyApplied.merge(applied) { new, _ in new }
                if let newest = self.recentlyApplied.keys.max() {
                    self.recentlyApplied = self.recentlyApplied.filter { $0.key > newest - Self.recentKept }
                }
            }
            return applied
        }
    }

    /// How many of the latest replayed changes' results are kept for ``commit(_:vectors:model:)``.
    static let recentKept: Int64 = 256

    /// Writes `changes` and swaps in the index that describes them, at one instant.
    func apply(_ changes: KnowledgeBaseChanges, vectors: [String: [Float]], logVersion: Int64? = nil) throws
        -> AppliedChanges
    {
        let store = try storeForWriting()
        let embedder = self.embedder
        return try store.apply(
            changes, model: embedder.modelID, dimension: embedder.dimension, vectors: vectors, logVersion: logVersion
        ) { index, commit in
            try lock.withWriteLock {
                try commit()
                self.store = store
                self.retriever = Retriever(store: store, embedder: embedder, vectors: index)
                self.calibrationState.withLock { $0.generation += 1 }
            }
        }
    }

    /// The label-free calibration of the content served now; nil when there is none yet (its
    /// computation starts here, in the background, and the defaults apply meanwhile — each
    /// row's evidence says which applied) or the knowledge base is too small to calibrate.
    func labelFreeCalibration(onError: @escaping @Sendable (any Error) -> Void) -> KnowledgeBaseCalibration? {
        let (generation, fitted, computing) = calibrationState.withLock { ($0.generation, $0.fitted, $0.computing) }
        if let fitted, fitted.generation == generation { return fitted.value }
        guard computing != generation, let retriever = lock.withReadLock({ retriever }) else { return nil }
        calibrationState.withLock { $0.computing = generation }
        Task.detached(priority: .background) { [self] in
            var value: KnowledgeBaseCalibration?
            do {
                value = try await SelfCalibration.current(retriever: retriever, write: true)
            } catch {
                onError(error)
            }
            calibrationState.withLock {
                if $0.generation == generation { $0.fitted = (generation, value) }
                if $0.computing == generation { $0.computing = nil }
            }
        }
        return nil
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
