import Testing
import VectorSearch

@testable import Embeddings

@Suite("Hashing embedder")
struct HashingEmbedderTests {
    let embedder = HashingEmbedder()

    @Test("vectors are deterministic, unit length and of the declared dimension")
    func deterministicUnitVectors() async throws {
        let a = try await embedder.embed("How do I enable WAL mode?")
        let b = try await embedder.embed("How do I enable WAL mode?")
        #expect(a == b)
        #expect(a.count == 384)
        #expect(abs(VectorMath.dot(a, a) - 1) < 1e-5)
        #expect(embedder.modelID == "hashing-v1-384")
    }

    @Test("a fixed text always maps to the same vector, across processes and machines")
    func stableAcrossProcesses() {
        // FNV-1a of "a" is a published constant; Swift's Hasher would differ per process.
        #expect(StableHash.fnv1a64("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(StableHash.fnv1a64("") == 0xcbf2_9ce4_8422_2325)
    }

    @Test("texts sharing words are closer than unrelated texts")
    func similarity() async throws {
        let vectors = try await embedder.embed([
            "enable write-ahead logging journal mode", "how to turn on the WAL journal mode", "the cat sat on a mat",
        ])
        #expect(VectorMath.dot(vectors[0], vectors[1]) > VectorMath.dot(vectors[0], vectors[2]))
    }

    @Test("empty text gives a zero vector rather than NaNs")
    func emptyText() async throws {
        let v = try await embedder.embed("")
        #expect(v.allSatisfy { $0 == 0 })
    }

    @Test("word segmentation lower-cases and splits on punctuation")
    func segmentation() {
        #expect(
            TextSegmenter.words("Hello, WORLD! sqlite3_open() café") == ["hello", "world", "sqlite3", "open", "café"])
        #expect(TextSegmenter.estimatedWordPieces("Hello, world!") == 4)
        #expect(TextSegmenter.estimatedWordPieces("") == 0)
    }

    @Test("the registry maps names and stored model ids to embedders")
    func registry() async throws {
        #expect(try await EmbedderRegistry.embedder(named: "hashing").modelID == "hashing-v1-384")
        #expect(try EmbedderRegistry.embedder(forModelID: "hashing-v1-64").dimension == 64)
        await #expect(throws: EmbeddingError.unknownEmbedder("bogus")) {
            try await EmbedderRegistry.embedder(named: "bogus")
        }
    }
}
