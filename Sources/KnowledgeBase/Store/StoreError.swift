/// Problems with the knowledge base file itself, each saying how to recover.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The store's vectors come from another model than the embedder in use.
    case modelMismatch(stored: String, requested: String)
    /// A vector of the wrong dimension was offered.
    case dimensionMismatch(expected: Int, actual: Int)
    /// The file could not be opened as a knowledge base.
    case cannotOpen(path: String, reason: String)
    /// The knowledge base has no documents yet.
    case empty(path: String)
    /// A value read from the file cannot be right (a negative count, a slot outside its pack…):
    /// refused before it is used as a size or an index.
    case corrupted(table: String, row: Int64, reason: String)
    /// A change that no longer fits the knowledge base (another writer changed it meanwhile, or
    /// it uses another model than the shared knowledge base): nothing was written; the reason
    /// says what to do.
    case conflict(String)
    /// A change computed on a version of the shared knowledge base that is no longer its newest
    /// (another node changed it meanwhile): nothing was written; computing it again succeeds.
    case changedMeanwhile(String)

    public var description: String {
        switch self {
        case .modelMismatch(let stored, let requested):
            "this knowledge base was built with embedding model '\(stored)', not '\(requested)'; "
                + "run `cascade reindex --kb <path> --embedder <name>` to re-embed it, or use the model it was built with"
        case .dimensionMismatch(let expected, let actual):
            "vector has \(actual) dimensions but the knowledge base stores \(expected)"
        case .cannotOpen(let path, let reason):
            "cannot open knowledge base \(path): \(reason)"
        case .empty(let path):
            "knowledge base \(path) has no documents; add some with `cascade ingest <folder> --kb \(path)`"
        case .conflict(let reason), .changedMeanwhile(let reason): reason
        case .corrupted(let table, let row, let reason):
            "the knowledge base is damaged: \(table) row \(row): \(reason); restore it from a backup, or ingest the documents into a new knowledge base"
        }
    }
}
