import Embeddings
import Foundation
import Testing

@testable import KnowledgeBase

@Suite("Keyword search")
struct KeywordSearchTests {
    static let hostileQueries = [
        #"""#, #"" OR ""#, "NEAR(a b)", "a AND", "((unbalanced", "col:value", "*", "^start", "title:backup",
        "-", "a\"b", "'; DROP TABLE chunk; --", "NOT", "AND OR NOT", "\u{0}", "🙂",
        String(repeating: "x ", count: 5_000),
    ]

    @Test("any user text is safe as a keyword query", arguments: hostileQueries)
    func hostileInputNeverRaises(query: String) async throws {
        let dir = try TemporaryDirectory()
        let store = try KnowledgeBaseStore(path: dir.path("kb.sqlite"))
        _ = try await Ingestor(store: store, embedder: HashingEmbedder()).ingest(try Fixtures.copySampleDocs(into: dir))
        _ = try store.keywordSearch(query, limit: 10)
        #expect(try assertConsistent(store).isEmpty)
    }

    @Test("match expressions quote every term and drop stopwords")
    func expression() {
        #expect(KeywordQuery.matchExpression(for: "How do I restore a backup?") == #""restore" OR "backup""#)
        #expect(KeywordQuery.matchExpression(for: "NEAR(a b)") == #""near" OR "b""#)
        #expect(KeywordQuery.matchExpression(for: "the") == #""the""#)
        #expect(KeywordQuery.matchExpression(for: "?!") == nil)
    }

    @Test("stemming matches inflected forms, and headings rank their section first")
    func stemmingAndRanking() async throws {
        let dir = try TemporaryDirectory()
        let store = try KnowledgeBaseStore(path: dir.path("kb.sqlite"))
        _ = try await Ingestor(store: store, embedder: HashingEmbedder()).ingest(try Fixtures.copySampleDocs(into: dir))
        let hits = try store.keywordSearch("restoring backups", limit: 5)
        let chunks = try store.chunks(ids: hits.map(\.chunkID))
        #expect(chunks.first?.docID == "page.html")
        #expect(chunks.first?.anchor == "restore")
        #expect(chunks.first?.citation == "docs/page.html#restore")
    }

    @Test("a source-prefix filter restricts keyword results")
    func filter() async throws {
        let dir = try TemporaryDirectory()
        let store = try KnowledgeBaseStore(path: dir.path("kb.sqlite"))
        _ = try await Ingestor(store: store, embedder: HashingEmbedder()).ingest(try Fixtures.copySampleDocs(into: dir))
        let all = try store.keywordSearch("version widget backup", limit: 10)
        let onlyNotes = try store.keywordSearch(
            "version widget backup", limit: 10, filter: SearchFilter(sourcePrefix: "docs/notes"))
        #expect(all.count > onlyNotes.count)
        #expect(!onlyNotes.isEmpty)
        #expect(try store.chunks(ids: onlyNotes.map(\.chunkID)).allSatisfy { $0.source == "docs/notes.txt" })
    }
}
