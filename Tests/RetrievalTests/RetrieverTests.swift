import Embeddings
import Foundation
import KnowledgeBase
import Testing

@testable import Retrieval

/// The repository root, found from this file's path (tests read the shipped corpus).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// One knowledge base of the shipped SQLite documentation, built once for the whole suite.
actor DemoKnowledgeBase {
    static let shared = DemoKnowledgeBase()
    /// One build shared by every caller: concurrent tests await the same task instead of each
    /// building their own (the actor is re-entrant across the await).
    private var build: Task<KnowledgeBaseStore, any Error>?

    func get() async throws -> KnowledgeBaseStore {
        if let build { return try await build.value }
        let task = Task { try await Self.make() }
        build = task
        return try await task.value
    }

    private static func make() async throws -> KnowledgeBaseStore {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cascade-demo-\(UUID().uuidString).sqlite"
        ).path
        let store = try KnowledgeBaseStore(path: path)
        let corpus = repositoryRoot.appendingPathComponent("corpora/sqlite-docs").path
        _ = try await Ingestor(store: store, embedder: HashingEmbedder()).ingest(corpus)
        return store
    }
}

@Suite("Retriever")
struct RetrieverTests {
    @Test(
        "ordinary support questions find the right SQLite page in the top 5 (hybrid)",
        arguments: [
            ("How do I enable WAL mode?", "wal.html"),
            ("how to add a column to an existing table", "lang_altertable.html"),
            ("foreign key constraints are not enforced", "foreignkeys.html"),
            ("what is the maximum size of a database file", "limits.html"),
            ("full text search extension", "fts5.html"),
            ("how do I use the command line shell", "cli.html"),
            ("store JSON in a column and query it", "json1.html"),
            ("upsert insert or update on conflict", "lang_upsert.html"),
        ])
    func demoQuestions(question: String, page: String) async throws {
        let retriever = try Retriever(store: try await DemoKnowledgeBase.shared.get())
        let results = try await retriever.search(question, k: 5)
        #expect(results.contains { $0.chunk.docID == page }, "\(question) → \(results.map(\.chunk.docID))")
    }

    @Test("each mode returns ranked results with the signals it used")
    func modes() async throws {
        let retriever = try Retriever(store: try await DemoKnowledgeBase.shared.get())
        let vector = try await retriever.search("write-ahead log checkpoint", k: 5, mode: .vector)
        #expect(vector.count == 5 && vector.allSatisfy { $0.vectorScore != nil && $0.keywordScore == nil })
        let keyword = try await retriever.search("write-ahead log checkpoint", k: 5, mode: .keyword)
        #expect(keyword.count == 5 && keyword.allSatisfy { $0.keywordScore != nil && $0.vectorScore == nil })
        let hybrid = try await retriever.search("write-ahead log checkpoint", k: 5, mode: .hybrid)
        #expect(hybrid.map(\.rank) == [1, 2, 3, 4, 5])
        #expect(zip(hybrid, hybrid.dropFirst()).allSatisfy { $0.score >= $1.score })
        #expect(hybrid.allSatisfy { $0.vectorScore != nil || $0.keywordScore != nil })
    }

    @Test("a chunk found only by its words still carries its cosine to the question (issue 31 defect a)")
    func keywordOnlyHitsHaveAVectorScore() async throws {
        let store = try await DemoKnowledgeBase.shared.get()
        let retriever = try Retriever(store: store)
        // The words name the busy-timeout pages; the vector points somewhere else entirely, so
        // those are found by keyword search alone (rank fusion keeps them in the top 10).
        let elsewhere = try await HashingEmbedder().embed(["bananas baking recipe oven temperature"])[0]
        let results = try retriever.rank(text: "busy timeout handler", vector: elsewhere, k: 10, mode: .rrf)
        let keywordOnly = results.filter { $0.vectorRank == nil }
        #expect(!keywordOnly.isEmpty, "the test needs a keyword-only hit")
        #expect(results.allSatisfy { $0.vectorScore != nil })
        // The score is the chunk's real cosine, the one vector search within its page gives it.
        for hit in keywordOnly {
            let page = try retriever.rank(
                text: nil, vector: elsewhere, k: 1000, mode: .vector,
                filter: SearchFilter(sourcePrefix: hit.chunk.source))
            let cosine = try #require(page.first { $0.chunk.chunkID == hit.chunk.chunkID }?.vectorScore)
            #expect(abs(cosine - (try #require(hit.vectorScore))) < 1e-5)
        }
    }

    @Test("a filter keeps results inside the prefix and still fills k")
    func filter() async throws {
        let retriever = try Retriever(store: try await DemoKnowledgeBase.shared.get())
        let results = try await retriever.search(
            "open a database connection", k: 5, filter: SearchFilter(sourcePrefix: "sqlite-docs/c3ref/"))
        #expect(results.count == 5)
        #expect(results.allSatisfy { $0.chunk.source.hasPrefix("sqlite-docs/c3ref/") })
    }

    @Test("empty, oversized and hostile queries get clear errors or safe results")
    func badQueries() async throws {
        let retriever = try Retriever(store: try await DemoKnowledgeBase.shared.get())
        await #expect(throws: RetrievalError.emptyQuery) { try await retriever.search("   \n") }
        await #expect(throws: RetrievalError.queryTooLong(characters: 5_000, limit: 4_096)) {
            try await retriever.search(String(repeating: "a", count: 5_000))
        }
        await #expect(throws: RetrievalError.invalidK(0)) { try await retriever.search("wal", k: 0) }
        for hostile in [#"" NEAR( * OR"#, "'; DROP TABLE chunk; --", "((((", "🙂🙂"] {
            _ = try await retriever.search(hostile, k: 3)
        }
    }

    @Test("a retriever refuses an embedder other than the store's model")
    func modelMismatch() async throws {
        let store = try await DemoKnowledgeBase.shared.get()
        #expect(throws: StoreError.modelMismatch(stored: "hashing-v1-384", requested: "hashing-v1-64")) {
            try Retriever(store: store, embedder: HashingEmbedder(dimension: 64))
        }
    }

    @Test("an empty knowledge base says how to fill it")
    func emptyStore() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("empty-\(UUID().uuidString).sqlite")
            .path
        let store = try KnowledgeBaseStore(path: path)
        #expect(throws: StoreError.empty(path: path)) { try Retriever(store: store) }
        #expect(StoreError.empty(path: path).description.contains("cascade ingest"))
    }

    @Test("reciprocal-rank fusion adds 1/(k+rank) per list")
    func fusion() {
        let fused = RankFusion(k: 60).fuse([[1, 2, 3], [3, 1]])
        #expect(fused.map(\.id) == [1, 3, 2])
        #expect(abs(fused[0].score - (1.0 / 61 + 1.0 / 62)) < 1e-12)
        #expect(abs(fused[1].score - (1.0 / 63 + 1.0 / 61)) < 1e-12)
    }
}

let miniLMPresent = MiniLMEmbedder.isAvailable || ProcessInfo.processInfo.environment["CI"] != nil

@Suite("Retriever with all-MiniLM-L6-v2", .enabled(if: miniLMPresent, "run tools/fetch-model first"))
struct MiniLMRetrieverTests {
    /// A slice of the demo corpus (answers plus look-alike distractors), embedded with the real model once.
    actor Slice {
        static let shared = Slice()
        private var build: Task<Retriever, any Error>?

        func get() async throws -> Retriever {
            if let build { return try await build.value }
            let task = Task { try await Self.make() }
            build = task
            return try await task.value
        }

        private static func make() async throws -> Retriever {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent(
                "minilm-slice-\(UUID().uuidString)")
            let docs = root.appendingPathComponent("sqlite-docs")
            try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
            let pages = [
                "wal.html", "lang_altertable.html", "foreignkeys.html", "limits.html", "lang_upsert.html",
                "lockingv3.html", "quirks.html", "lang_transaction.html", "autoinc.html", "backup.html",
            ]
            for page in pages {
                try FileManager.default.copyItem(
                    at: repositoryRoot.appendingPathComponent("corpora/sqlite-docs/\(page)"),
                    to: docs.appendingPathComponent(page))
            }
            let store = try KnowledgeBaseStore(path: root.appendingPathComponent("kb.sqlite").path)
            let model = try MiniLMEmbedder(directory: MiniLMEmbedder.defaultDirectory())
            _ = try await Ingestor(store: store, embedder: model).ingest(docs.path)
            return try Retriever(store: store)
        }
    }

    @Test(
        "paraphrased support questions find the answering page first, in every mode that uses vectors",
        arguments: [
            ("my writes block readers, can I make them not wait for each other?", "wal.html"),
            ("rename a column in a table that already has data", "lang_altertable.html"),
            ("deleting a parent row does not cascade to children", "foreignkeys.html"),
            ("how big can a single database get", "limits.html"),
            ("insert a row or update it if the key already exists", "lang_upsert.html"),
            ("copy a live database to another file while it is in use", "backup.html"),
        ])
    func paraphrases(question: String, page: String) async throws {
        let retriever = try await Slice.shared.get()
        #expect(retriever.embedder.modelID == MiniLMEmbedder.defaultModelID)
        for mode in [SearchMode.vector, .hybrid] {
            let results = try await retriever.search(question, k: 3, mode: mode)
            #expect(results.contains { $0.chunk.docID == page }, "\(mode): \(question) → \(results.map(\.chunk.docID))")
        }
    }
}
