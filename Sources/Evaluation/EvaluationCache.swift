import Embeddings
import Foundation
import KnowledgeBase

/// Knowledge bases built from evaluation corpora, kept under `.cascade/eval-cache/` in the
/// working directory and keyed by the corpus's bytes and the embedding model, so a second run
/// on an unchanged set embeds nothing. The set's own folder is only read.
public struct EvaluationCache: Sendable {
    public var directory: URL

    public init(directory: URL = URL(fileURLWithPath: ".cascade/eval-cache")) {
        self.directory = directory
    }

    /// The knowledge base for `dataset` under `embedder`, ingested when missing or stale.
    public func knowledgeBase(
        for dataset: BEIRDataset, embedder: any Embedder,
        progress: (@Sendable (IngestProgress) -> Void)? = nil
    ) async throws -> (store: KnowledgeBaseStore, path: String, reused: Bool) {
        let key = SHA256.hex(
            try dataset.corpusFingerprint() + "\n" + embedder.modelID + "\n" + Ingestor.pipelineVersion)
        let folder = directory.appendingPathComponent("\(Self.safe(dataset.name))-\(key.prefix(16))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("kb.sqlite").path
        let done = folder.appendingPathComponent("complete")
        let store = try KnowledgeBaseStore(path: path)
        if FileManager.default.fileExists(atPath: done.path) { return (store, path, true) }
        let ingestor = Ingestor(store: store, embedder: embedder)
        let report = try await ingestor.ingest(dataset.corpus.url.path, progress: progress)
        if report.documentsFailed > 0 {
            let first = report.failures.first.map { "\($0.source): \($0.error)" } ?? ""
            throw EvaluationError.invalidArgument(
                "\(report.documentsFailed) corpus documents failed to ingest (first: \(first)); fix the corpus and re-run"
            )
        }
        FileManager.default.createFile(atPath: done.path, contents: Data(Date().description.utf8))
        return (store, path, false)
    }

    static func safe(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
    }
}
