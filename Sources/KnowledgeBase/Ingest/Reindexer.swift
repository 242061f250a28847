import Embeddings

/// Re-embeds every chunk of a knowledge base with another model, then switches the store to it.
///
/// Resumable by construction: vectors are stored per batch under the new model id (the vector
/// cache is keyed by model and text hash), and the store keeps answering queries with its old
/// model until every chunk has a new vector; only then does it switch. Killing a reindex loses at
/// most one batch; running it again embeds only what is still missing.
public struct Reindexer: Sendable {
    public var store: KnowledgeBaseStore
    public var embedder: any Embedder

    public init(store: KnowledgeBaseStore, embedder: any Embedder) {
        self.store = store
        self.embedder = embedder
    }

    public struct Report: Hashable, Sendable, Codable {
        public init(previousModel: String?, model: String, chunksEmbedded: Int, elapsedMilliseconds: Double) {
            self.previousModel = previousModel
            self.model = model
            self.chunksEmbedded = chunksEmbedded
            self.elapsedMilliseconds = elapsedMilliseconds
        }

        public var previousModel: String?
        public var model: String
        public var chunksEmbedded: Int
        public var elapsedMilliseconds: Double

        enum CodingKeys: String, CodingKey {
            case previousModel = "previous_model"
            case model
            case chunksEmbedded = "chunks_embedded"
            case elapsedMilliseconds = "elapsed_ms"
        }
    }

    /// Embeds what is missing, then records the new model.
    /// - Parameter progress: called with (texts embedded so far, texts to embed in all).
    public func run(progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> Report {
        let started = ContinuousClock.now
        let previous = try store.embeddingModel()?.id
        let done = try await embedMissing(progress: progress)
        try store.switchEmbeddingModel(id: embedder.modelID, dimension: embedder.dimension)
        return Report(
            previousModel: previous, model: embedder.modelID, chunksEmbedded: done,
            elapsedMilliseconds: Self.milliseconds(since: started))
    }

    /// Embeds every chunk text that has no vector under the new model yet and stores the vectors
    /// beside the old ones (the store keeps serving its old model); returns how many were embedded.
    /// With a shared knowledge base the switch itself is then one change of the log
    /// (``KnowledgeBaseLogRecord/init(switchingTo:dimension:vectors:baseVersion:)``).
    public func embedMissing(progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> Int {
        let total = try store.countChunksMissingVectors(model: embedder.modelID)
        var done = 0
        let batch = max(1, embedder.preferredBatchSize)
        while true {
            try Task.checkCancellation()
            let missing = try store.chunksMissingVectors(model: embedder.modelID, limit: batch)
            if missing.isEmpty { break }
            let vectors = try await embedder.embed(missing.map(\.text))
            var byHash: [String: [Float]] = [:]
            for (item, vector) in zip(missing, vectors) {
                guard vector.count == embedder.dimension else {
                    throw StoreError.dimensionMismatch(expected: embedder.dimension, actual: vector.count)
                }
                byHash[item.textHash] = vector
            }
            try store.storeVectors(byHash, model: embedder.modelID)
            done += missing.count
            progress?(done, total)
        }
        return done
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }
}
