import Embeddings
import Synchronization
import Testing

@testable import Server

/// Concurrent queries are embedded together, and each gets its own vector back.
@Suite struct EmbeddingBatcherTests {
    /// The hashing model, counting how many calls and texts it was given.
    final class CountingEmbedder: Embedder, Sendable {
        let base = HashingEmbedder()
        let calls = Mutex<[Int]>([])
        var modelID: String { base.modelID }
        var dimension: Int { base.dimension }
        var maxTokens: Int { base.maxTokens }
        var preferredBatchSize: Int { base.preferredBatchSize }
        func tokenCount(of text: String) -> Int { base.tokenCount(of: text) }
        func embed(_ texts: [String]) async throws -> [[Float]] {
            calls.withLock { $0.append(texts.count) }
            try await Task.sleep(for: .milliseconds(20))  // a model takes a while; others queue meanwhile
            return try await base.embed(texts)
        }
    }

    @Test func concurrentQueriesShareBatchesAndGetTheirOwnVectors() async throws {
        let counting = CountingEmbedder()
        let batcher = EmbeddingBatcher(embedder: counting, maxBatch: 8)
        let texts = (0..<24).map { "question number \($0) about refunds" }
        let vectors = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (i, text) in texts.enumerated() { group.addTask { (i, try await batcher.embed(text)) } }
            var result = [[Float]](repeating: [], count: texts.count)
            for try await (i, vector) in group { result[i] = vector }
            return result
        }
        for (text, vector) in zip(texts, vectors) {
            #expect(vector == (try await HashingEmbedder().embed(text)))
        }
        let calls = counting.calls.withLock { $0 }
        #expect(calls.reduce(0, +) == 24)
        #expect(calls.count < 24, "queries were batched: \(calls)")
        #expect(calls.allSatisfy { $0 <= 8 })
    }

    @Test func aLoneQueryIsEmbeddedAtOnce() async throws {
        let counting = CountingEmbedder()
        let batcher = EmbeddingBatcher(embedder: counting)
        _ = try await batcher.embed("one question")
        _ = try await batcher.embed("another question")
        #expect(counting.calls.withLock { $0 } == [1, 1])
    }
}
