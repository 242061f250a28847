import Embeddings
import Foundation
import Testing
import VectorSearch

@testable import KnowledgeBase

@Suite("Reindex to another model")
struct ReindexerTests {
    func builtStore(_ dir: TemporaryDirectory) async throws -> (KnowledgeBaseStore, Int) {
        let store = try KnowledgeBaseStore(path: dir.path("kb.sqlite"))
        var lines: [String] = []
        for i in 1...300 {
            lines.append(#"{"_id": "d\#(i)", "title": "T\#(i)", "text": "Passage \#(i) about item \#(i)."}"#)
        }
        try dir.write("beir/corpus.jsonl", lines.joined(separator: "\n"))
        let report = try await Ingestor(store: store, embedder: HashingEmbedder()).ingest(dir.path("beir/corpus.jsonl"))
        return (store, report.chunksWritten)
    }

    @Test("reindex embeds every chunk with the new model, then switches the store to it")
    func switchesModel() async throws {
        let dir = try TemporaryDirectory()
        let (store, chunks) = try await builtStore(dir)
        let report = try await Reindexer(store: store, embedder: HashingEmbedder(dimension: 64)).run()
        #expect(report.previousModel == "hashing-v1-384")
        #expect(report.model == "hashing-v1-64")
        #expect(report.chunksEmbedded == chunks)
        let stats = try store.stats()
        #expect(stats.embeddingModel == "hashing-v1-64")
        #expect(stats.dimension == 64)
        #expect(stats.vectors == chunks)
        #expect(stats.chunksWithoutVector == 0)
        #expect(try store.loadVectorIndex(model: "hashing-v1-64", dimension: 64).count == chunks)
    }

    @Test("an interrupted reindex keeps the old model serving and resumes where it stopped")
    func resumable() async throws {
        let dir = try TemporaryDirectory()
        let (store, chunks) = try await builtStore(dir)
        let target = HashingEmbedder(dimension: 64)
        let interrupted = Task {
            try await Reindexer(store: store, embedder: target).run { done, _ in
                // Stop after the first batch, as a kill or Ctrl-C would.
                if done >= 1 { withUnsafeCurrentTask { $0?.cancel() } }
            }
        }
        await #expect(throws: CancellationError.self) { try await interrupted.value }
        #expect(try store.embeddingModel()?.id == "hashing-v1-384", "the old model keeps serving")
        let done = chunks - (try store.countChunksMissingVectors(model: target.modelID))
        #expect(done > 0 && done < chunks)

        let resumed = try await Reindexer(store: store, embedder: target).run()
        #expect(resumed.chunksEmbedded == chunks - done, "only what was missing is embedded")
        #expect(try store.embeddingModel()?.id == "hashing-v1-64")
    }

    @Test("a shared knowledge base's switch is one change: applied whole, or refused whole when a chunk lacks a vector")
    func switchRecord() async throws {
        let dir = try TemporaryDirectory()
        let (source, chunks) = try await builtStore(dir)
        let newModel = HashingEmbedder(dimension: 64)
        #expect(try await Reindexer(store: source, embedder: newModel).embedMissing() == chunks)
        #expect(try source.embeddingModel()?.id == "hashing-v1-384", "embedding alone does not switch")
        let vectors = try source.switchVectors(model: newModel.modelID)
        let record = try KnowledgeBaseLogRecord(
            switchingTo: newModel.modelID, dimension: 64, vectors: vectors, baseVersion: 7)
        // As stored in the log and read back by another node.
        let read = try KnowledgeBaseLogRecord.decode(try record.encoded(), version: 8)
        #expect(read == record && read.isModelSwitch && read.baseVersion == 7)
        let (changes, decoded) = try read.changes()
        #expect(changes.writes.isEmpty && changes.removals.isEmpty && decoded.count == chunks)

        // Another node's copy (the same documents, only the old model's vectors).
        let copyDir = try TemporaryDirectory()
        let (copy, _) = try await builtStore(copyDir)
        var partial = decoded
        partial.removeValue(forKey: try #require(partial.keys.first))
        #expect(throws: StoreError.self) {
            try copy.applyModelSwitch(model: newModel.modelID, dimension: 64, vectors: partial, logVersion: 8)
        }
        #expect(try copy.embeddingModel()?.id == "hashing-v1-384", "a refused switch changes nothing")
        #expect(try copy.logVersion() == 0)
        var published = 0
        try copy.applyModelSwitch(model: newModel.modelID, dimension: 64, vectors: decoded, logVersion: 8) {
            index, commit in
            #expect(index.count == chunks && index.dimension == 64)
            try commit()
            published += 1
        }
        #expect(published == 1)
        let stats = try copy.stats()
        #expect(stats.embeddingModel == newModel.modelID && stats.vectors == chunks && stats.chunksWithoutVector == 0)
        #expect(try copy.logVersion() == 8)

        // A record format this build does not know is refused, never applied as something else.
        var future = record
        future.format = 4
        #expect(throws: StoreError.self) { _ = try future.changes() }
        var snapshot = record
        snapshot.format = KnowledgeBaseLogRecord.snapshotFormat
        snapshot.removals = [.init(collection: "beir", docID: "d1")]
        #expect(throws: StoreError.self, "a snapshot removes nothing") { _ = try snapshot.changes() }
        var mixed = record
        mixed.removals = [.init(collection: "beir", docID: "d1")]
        #expect(throws: StoreError.self) { _ = try mixed.changes() }
    }
}
