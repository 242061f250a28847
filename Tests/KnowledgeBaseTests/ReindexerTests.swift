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
}
