import Embeddings
import Foundation
import GRDB
import Testing
import VectorSearch

@testable import KnowledgeBase

@Suite("Vector storage in packs")
struct VectorStorageTests {
    func ingested(_ dir: TemporaryDirectory) async throws -> Ingestor {
        let docs = try Fixtures.copySampleDocs(into: dir)
        let ingestor = Ingestor(store: try KnowledgeBaseStore(path: dir.path("kb.sqlite")), embedder: HashingEmbedder())
        _ = try await ingestor.ingest(docs)
        return ingestor
    }

    func distinctTextHashes(_ store: KnowledgeBaseStore) throws -> Int {
        try store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT text_hash) FROM chunk") ?? -1 }
    }

    @Test("ingest fills packs: one vector per distinct chunk text, all in full-size blobs")
    func packsHoldEveryVector() async throws {
        let dir = try TemporaryDirectory()
        let store = try await ingested(dir).store
        let (packs, rows) = try await store.writer.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM vector_pack") ?? 0,
                try Int.fetchOne(db, sql: "SELECT SUM(row_count) FROM vector_pack") ?? 0
            )
        }
        #expect(packs == 1, "three small documents fit one pack: later documents fill the last pack")
        #expect(rows == (try distinctTextHashes(store)))
        let index = try store.loadVectorIndex(model: "hashing-v1-384", dimension: 384)
        #expect(index.count == rows)
        #expect(index.identifiers == index.identifiers.sorted())
        #expect(try assertConsistent(store).isEmpty)
    }

    @Test("removing or changing a document frees the vectors no other chunk uses, and compacts the pack")
    func garbageCollection() async throws {
        let dir = try TemporaryDirectory()
        let ingestor = try await ingested(dir)
        let store = ingestor.store
        try dir.write("docs/notes.txt", "Release notes\n\nEverything here is new text.")
        _ = try await ingestor.ingest(dir.path("docs"))
        #expect(try assertConsistent(store).isEmpty)
        #expect(try store.stats().vectors == (try distinctTextHashes(store)))

        try store.removeDocuments(collection: "docs", docIDs: ["guide.md", "page.html"])
        #expect(try assertConsistent(store).isEmpty)
        let remaining = try distinctTextHashes(store)
        #expect(try store.stats().vectors == remaining)
        let packRows = try await store.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT SUM(row_count) FROM vector_pack") ?? 0
        }
        #expect(packRows == remaining, "a pack left mostly dead is rewritten with its live rows only")
        let index = try store.loadVectorIndex(model: "hashing-v1-384", dimension: 384)
        let query = try await HashingEmbedder().embed("new text")
        let hits = try store.vectorSearch(index, query: query, k: 5)
        #expect(hits.count == (try store.stats().chunks))
        #expect(try store.chunks(ids: hits.map(\.chunkID)).allSatisfy { $0.docID == "notes.txt" })
    }

    @Test("an int8 index returns the float32 results (re-ranked from the stored vectors)")
    func int8MatchesFloat() async throws {
        let dir = try TemporaryDirectory()
        let store = try await ingested(dir).store
        let exact = try store.loadVectorIndex(model: "hashing-v1-384", dimension: 384, encoding: .f32)
        let int8 = try store.loadVectorIndex(model: "hashing-v1-384", dimension: 384, encoding: .int8)
        #expect(int8.encoding == .int8)
        #expect(int8.memoryBytes * 3 < exact.memoryBytes)
        for text in ["sync protocol", "dark mode settings", "install the package", "what is new"] {
            let query = try await HashingEmbedder().embed(text)
            let a = try store.vectorSearch(exact, query: query, k: 3)
            let b = try store.vectorSearch(int8, query: query, k: 3)
            #expect(a.map(\.chunkID) == b.map(\.chunkID))
            for (x, y) in zip(a, b) { #expect(abs(x.score - y.score) < 1e-5) }
        }
        try store.setVectorEncoding(.int8)
        #expect(try store.loadVectorIndex(model: "hashing-v1-384", dimension: 384).encoding == .int8)
    }

    @Test("chunks with the same text share one vector and are all returned")
    func sharedVectors() async throws {
        let dir = try TemporaryDirectory()
        try dir.write("a/one.txt", "Shared paragraph about backups.")
        try dir.write("a/two.txt", "Shared paragraph about backups.")
        let ingestor = Ingestor(store: try KnowledgeBaseStore(path: dir.path("kb.sqlite")), embedder: HashingEmbedder())
        _ = try await ingestor.ingest(dir.path("a"))
        let store = ingestor.store
        let index = try store.loadVectorIndex(model: "hashing-v1-384", dimension: 384)
        let hits = try store.vectorSearch(index, query: try await HashingEmbedder().embed("backups"), k: 5)
        #expect(hits.count == 2)
        #expect(hits[0].score == hits[1].score)
        let filtered = try store.vectorSearch(
            index, query: try await HashingEmbedder().embed("backups"), k: 5,
            filter: SearchFilter(sourcePrefix: "a/two"))
        #expect(try store.chunks(ids: filtered.map(\.chunkID)).map(\.docID) == ["two.txt"])
    }

    @Test("a version 1 store is migrated: vectors move into packs, orphans are dropped, search is unchanged")
    func migratesVersion1() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("old.sqlite")
        let queue = try DatabaseQueue(path: path)
        try KnowledgeBaseSchema.migrator.migrate(queue, upTo: "v1")
        let vectors = randomVectors(3)
        try queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO kb_meta VALUES ('embedding_model', 'm'), ('embedding_dimension', '4');
                    INSERT INTO document VALUES (1, 'c', 'd', 'd.txt', 'D', 'text', 'h', 'p', '{}', 10, 2, 'now');
                    INSERT INTO chunk VALUES (1, 1, 0, '', NULL, 'alpha', 0, 5, 1, 'ha');
                    INSERT INTO chunk VALUES (2, 1, 1, '', NULL, 'beta', 5, 9, 1, 'hb');
                    INSERT INTO chunk_fts(rowid, title, heading, body) VALUES (1, 'D', '', 'alpha'), (2, 'D', '', 'beta');
                    """)
            for (hash, vector) in zip(["ha", "hb", "orphan"], vectors) {
                try db.execute(
                    sql: "INSERT INTO embedding(model, text_hash, vector) VALUES ('m', ?, ?)",
                    arguments: [hash, VectorBlob.encode(vector)])
            }
        }
        try queue.close()
        let store = try KnowledgeBaseStore(path: path)
        #expect(try assertConsistent(store).isEmpty)
        #expect(try store.stats().vectors == 2)
        let index = try store.loadVectorIndex(model: "m", dimension: 4)
        let hits = try store.vectorSearch(index, query: vectors[1], k: 1)
        #expect(hits.map(\.chunkID) == [2])
        #expect(try store.cachedVectors(model: "m", textHashes: ["ha", "orphan"]) == ["ha": vectors[0]])
    }

    @Test("many concurrent searches on one open index agree with a lone search")
    func concurrentStoreSearches() async throws {
        let dir = try TemporaryDirectory()
        let store = try await ingested(dir).store
        let index = try store.loadVectorIndex(model: "hashing-v1-384", dimension: 384, encoding: .int8)
        let texts = ["sync", "dark mode", "package", "notes", "guide", "release", "version", "legacy"]
        var queries: [[Float]] = []
        for text in texts { queries.append(try await HashingEmbedder().embed(text)) }
        let expected = try queries.map { try store.vectorSearch(index, query: $0, k: 4).map(\.chunkID) }
        try await withThrowingTaskGroup(of: (Int, [Int64]).self) { group in
            for _ in 0..<8 {
                for (i, query) in queries.enumerated() {
                    group.addTask { (i, try store.vectorSearch(index, query: query, k: 4).map(\.chunkID)) }
                }
            }
            for try await (i, got) in group { #expect(got == expected[i]) }
        }
    }

    func randomVectors(_ n: Int) -> [[Float]] {
        (0..<n).map { i in
            var v: [Float] = (0..<4).map { Float(($0 + 1) * (i + 2) % 7) - 3 }
            VectorMath.normalize(&v)
            return v
        }
    }
}

@Suite("Vector import")
struct VectorImportTests {
    func write(_ dir: TemporaryDirectory, lines: [String], rows: Int) throws -> (URL, URL) {
        try dir.write("c/corpus.jsonl", lines.joined(separator: "\n"))
        var matrix = VectorMatrix(dimension: 8)
        for i in 0..<rows {
            var v = [Float](repeating: 0, count: 8)
            v[i % 8] = 1
            v[(i + 3) % 8] = Float(i + 1) / Float(rows)
            VectorMath.normalize(&v)
            try matrix.append(v)
        }
        let npy = dir.url.appendingPathComponent("v.npy")
        try NPYMatrix.write(matrix, to: npy)
        return (dir.url.appendingPathComponent("c/corpus.jsonl"), npy)
    }

    @Test(
        "batches are committed one by one; a bad line stops the import with its line number, earlier batches kept"
    )
    func batchesAndErrors() throws {
        let dir = try TemporaryDirectory()
        var lines = (0..<10).map { #"{"_id": "d\#($0)", "title": "T\#($0)", "text": "passage \#($0)"}"# }
        let (corpus, vectors) = try write(dir, lines: lines, rows: 10)
        let store = try KnowledgeBaseStore(path: dir.path("kb.sqlite"))
        var importer = VectorImporter(store: store)
        importer.batchSize = 3
        let report = try importer.importVectors(corpus: corpus, vectors: vectors, model: "m", collection: "c")
        #expect(report.documents == 10 && report.vectors == 10)
        #expect(try assertConsistent(store).isEmpty)
        let index = try store.loadVectorIndex(model: "m", dimension: 8)
        let matrix = try NPYMatrix(contentsOf: vectors)
        let hit = try store.vectorSearch(index, query: matrix.row(7), k: 1)
        #expect(try store.chunks(ids: hit.map(\.chunkID)).first?.docID == "d7")

        lines[7] = "not json"
        try dir.write("c/corpus.jsonl", lines.joined(separator: "\n"))
        let other = try KnowledgeBaseStore(path: dir.path("kb2.sqlite"))
        var second = VectorImporter(store: other)
        second.batchSize = 3
        #expect(
            throws: IngestError.malformed(source: "corpus.jsonl", line: 8, reason: "not a JSON object with \"_id\"")
        ) {
            try second.importVectors(corpus: corpus, vectors: vectors, model: "m", collection: "c")
        }
        #expect(try other.stats().documents == 6, "batches before the bad one are committed")
        #expect(try assertConsistent(other).isEmpty)
    }
}
