import Embeddings
import Foundation
import GRDB
import Testing
import VectorSearch

@testable import KnowledgeBase

/// A knowledge base whose SQLite file is valid but whose values were damaged (by hand, a bad
/// copy, another program): every value used as a size or an index is checked before use, and the
/// error names the table and the row instead of crashing or reading stray memory.
@Suite("Corrupted values inside a valid knowledge base")
struct CorruptedStoreTests {
    func ingested(_ dir: TemporaryDirectory) async throws -> KnowledgeBaseStore {
        let docs = try Fixtures.copySampleDocs(into: dir)
        let ingestor = Ingestor(store: try KnowledgeBaseStore(path: dir.path("kb.sqlite")), embedder: HashingEmbedder())
        _ = try await ingestor.ingest(docs)
        return ingestor.store
    }

    /// Damage applied with the application's guards bypassed, as an outside program would.
    func damage(_ store: KnowledgeBaseStore, _ sql: String) throws {
        try store.writer.write { db in try db.execute(sql: sql) }
    }

    func expectCorrupted(_ store: KnowledgeBaseStore, table: String, _ comment: Comment) {
        for encoding in [VectorEncoding.f32, .int8] {
            #expect(comment) {
                _ = try store.loadVectorIndex(model: "hashing-v1-384", dimension: 384, encoding: encoding)
            } throws: { error in
                guard case .corrupted(let t, let row, _) = error as? StoreError else { return false }
                return t == table && row == 1
            }
        }
    }

    @Test("a negative row_count is refused, naming vector_pack row 1")
    func negativeRowCount() async throws {
        let dir = try TemporaryDirectory()
        let store = try await ingested(dir)
        try damage(store, "UPDATE vector_pack SET row_count = -1")
        expectCorrupted(store, table: "vector_pack", "row_count -1")
    }

    @Test("dead_rows above row_count is refused")
    func deadAboveCount() async throws {
        let dir = try TemporaryDirectory()
        let store = try await ingested(dir)
        try damage(store, "UPDATE vector_pack SET dead_rows = row_count + 5")
        expectCorrupted(store, table: "vector_pack", "dead_rows > row_count")
    }

    @Test("an embedding slot outside its pack is refused, never read")
    func slotOutOfRange() async throws {
        let dir = try TemporaryDirectory()
        let store = try await ingested(dir)
        // One dead row makes the loader read the slots; one slot then points far past the blob.
        try damage(
            store,
            """
            UPDATE vector_pack SET dead_rows = 1;
            DELETE FROM embedding WHERE slot = 0;
            UPDATE embedding SET slot = 1000000 WHERE slot = 1;
            """)
        expectCorrupted(store, table: "vector_pack", "slot 1000000")
    }

    @Test("a blob shorter than its counts is refused on load and when the pack is appended to")
    func shortBlob() async throws {
        let dir = try TemporaryDirectory()
        let store = try await ingested(dir)
        try damage(store, "UPDATE vector_pack SET vectors = substr(vectors, 1, 100)")
        expectCorrupted(store, table: "vector_pack", "short blob")
        try dir.write("docs/new.txt", "A new page\n\nWith text that needs a vector.")
        let ingestor = Ingestor(store: store, embedder: HashingEmbedder())
        let report = try? await ingestor.ingest(dir.path("docs"))
        #expect(report == nil || report?.failures.isEmpty == false, "the damaged tail pack is not extended")
    }

    @Test("an intact store still loads (the checks refuse only what is impossible)")
    func intact() async throws {
        let dir = try TemporaryDirectory()
        let store = try await ingested(dir)
        for encoding in [VectorEncoding.f32, .int8] {
            #expect(throws: Never.self) {
                _ = try store.loadVectorIndex(model: "hashing-v1-384", dimension: 384, encoding: encoding)
            }
        }
    }

    @Test("bytes flipped inside a pack's vectors are caught by its checksum when the index loads")
    func flippedBytes() async throws {
        let dir = try TemporaryDirectory()
        let store = try await ingested(dir)
        // The blob keeps its length (every count check passes); 4 bytes in the middle change.
        try damage(
            store,
            """
            UPDATE vector_pack SET vectors =
                substr(vectors, 1, 1000) || x'00007a43' || substr(vectors, 1005) WHERE id = 1
            """)
        expectCorrupted(store, table: "vector_pack", "checksum")
    }

    @Test("a damaged vector whose checksum was rewritten too is refused at search: its score is outside [-1, 1]")
    func outOfRangeScore() async throws {
        let dir = try TemporaryDirectory()
        let store = try await ingested(dir)
        try await store.writer.write { db in
            var blob: Data = try #require(try Data.fetchOne(db, sql: "SELECT vectors FROM vector_pack WHERE id = 1"))
            // Every value of the first row becomes 250: a "vector" of length ~4,900.
            blob.replaceSubrange(0..<384 * 4, with: [Float](repeating: 250, count: 384).withUnsafeBytes { Data($0) })
            try db.execute(
                sql: "UPDATE vector_pack SET vectors = ?, checksum = ? WHERE id = 1",
                arguments: [blob, VectorPacking.checksum(blob)])
        }
        let query = try await HashingEmbedder().embed(["refund policy"])[0]
        for encoding in [VectorEncoding.f32, .int8] {
            let index = try store.loadVectorIndex(model: "hashing-v1-384", dimension: 384, encoding: encoding)
            #expect {
                _ = try store.vectorSearch(index, query: query.map { abs($0) }, k: 5)
            } throws: { error in
                guard case .corrupted(let table, _, let reason) = error as? StoreError else { return false }
                return table == "vector_pack" && reason.contains("damaged")
            }
        }
    }

    @Test("a store made before pack checksums gets them when it is opened, and loads")
    func checksumsAreAddedToOlderStores() async throws {
        let dir = try TemporaryDirectory()
        do {
            let store = try await ingested(dir)
            // Back to the schema before the migration, as a store written by an older version.
            try await store.writer.write { db in
                try db.execute(
                    sql: """
                        ALTER TABLE vector_pack DROP COLUMN checksum;
                        DELETE FROM grdb_migrations WHERE identifier = 'v3-pack-checksums';
                        """)
            }
        }
        let reopened = try KnowledgeBaseStore(path: dir.path("kb.sqlite"))
        let (packs, unchecked) = try await reopened.writer.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM vector_pack") ?? 0,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM vector_pack WHERE checksum IS NULL") ?? -1
            )
        }
        #expect(packs > 0 && unchecked == 0)
        #expect(throws: Never.self) {
            _ = try reopened.loadVectorIndex(model: "hashing-v1-384", dimension: 384, encoding: .f32)
        }
    }
}
