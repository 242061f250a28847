import Synchronization

/// An ingest's changes gathered instead of written (``Ingestor/collector``): with a shared
/// knowledge base the whole ingest becomes one change of the log, applied by every node at once.
public final class CollectedChanges: Sendable {
    private let state = Mutex<(changes: KnowledgeBaseChanges, vectors: [String: [Float]])>((.init(), [:]))

    public init() {}

    func write(_ document: PreparedDocument, vectors: [String: [Float]]) {
        state.withLock { state in
            state.changes.writes.append(document)
            for hash in document.textHashes { if let vector = vectors[hash] { state.vectors[hash] = vector } }
        }
    }

    func remove(_ keys: [DocumentKey]) {
        state.withLock { $0.changes.removals += keys }
    }

    /// What was gathered: the changes and the vectors embedded for them (vectors the store had
    /// already are not repeated here).
    public var gathered: (changes: KnowledgeBaseChanges, vectors: [String: [Float]]) { state.withLock { $0 } }
}
