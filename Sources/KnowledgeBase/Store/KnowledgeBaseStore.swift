import Foundation
import GRDB
import VectorSearch

/// The knowledge base file: documents, chunks, vectors and the keyword index in one SQLite
/// database (WAL mode), owned by this type alone.
///
/// Every document is written in a single transaction together with its chunks, keyword rows and
/// vectors, so a process killed at any point leaves either the old or the new version of each
/// document, never a mix; re-running ingest finishes the job. The value is `Sendable` and cheap
/// to copy; all copies share one connection pool.
public struct KnowledgeBaseStore: Sendable {
    /// The database this store reads and writes.
    public let writer: any DatabaseWriter
    /// The file path, or `:memory:`.
    public let path: String

    /// Opens (creating if needed) the knowledge base at `path` and migrates it to the current schema.
    public init(path: String) throws(StoreError) {
        do {
            try DatabaseOpening.checkExistingFile(at: path, is: .knowledgeBase, migrator: KnowledgeBaseSchema.migrator)
            let pool = try DatabaseOpening.pool(path: path) { db in
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // Memory-mapped reads: vector packs are read by pointer, not copied through the
                // page cache (index loads and the int8 re-rank's single-row blob reads).
                try db.execute(sql: "PRAGMA mmap_size = 68719476736")
            }
            try self.init(writer: pool, path: path)
        } catch let error as StoreError {
            throw error
        } catch {
            throw .cannotOpen(path: path, reason: Self.describe(error))
        }
    }

    /// Opens a knowledge base that must already exist, for commands that only read one: a missing
    /// or empty file is refused, never created or given a schema (`search` on an empty file once
    /// wrote a whole schema into it).
    public init(existingAt path: String) throws(StoreError) {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber else {
            throw .cannotOpen(path: path, reason: "no such file; create it with `cascade ingest <folder> --kb \(path)`")
        }
        guard size.intValue > 0 else {
            throw .cannotOpen(
                path: path,
                reason: "the file is empty, so not a knowledge base; `cascade ingest <folder> --kb \(path)` makes one")
        }
        try self.init(path: path)
    }

    /// Wraps an already open database (tests use a temporary file or an in-memory queue).
    public init(writer: any DatabaseWriter, path: String = ":memory:") throws {
        self.writer = writer
        self.path = path
        do {
            try DatabaseOpening.open(writer, as: .knowledgeBase, migrator: KnowledgeBaseSchema.migrator)
        } catch let error as StoreKindError {
            throw StoreError.cannotOpen(path: path, reason: error.message)
        } catch {
            throw StoreError.cannotOpen(
                path: path, reason: "not a cascade knowledge base or damaged (\(Self.describe(error)))")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let db = error as? DatabaseError { return db.message ?? "\(db.resultCode)" }
        return "\(error)"
    }

    // MARK: - Model

    /// The embedding model whose vectors this knowledge base holds, once anything was ingested.
    public func embeddingModel() throws -> (id: String, dimension: Int)? {
        try writer.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT key, value FROM kb_meta WHERE key IN ('embedding_model', 'embedding_dimension')")
            var values: [String: String] = [:]
            for row in rows { values[row["key"]] = row["value"] }
            guard let id = values["embedding_model"], let dim = values["embedding_dimension"].flatMap(Int.init) else {
                return nil
            }
            return (id, dim)
        }
    }

    /// Records `model` as the knowledge base's model, or refuses when another model's vectors
    /// are already in use.
    public func claimEmbeddingModel(id: String, dimension: Int) throws {
        try writer.write { db in try Self.claimModel(db, id: id, dimension: dimension) }
    }

    /// ``claimEmbeddingModel(id:dimension:)`` inside the caller's transaction.
    static func claimModel(_ db: Database, id: String, dimension: Int) throws {
        let existing = try String.fetchOne(db, sql: "SELECT value FROM kb_meta WHERE key = 'embedding_model'")
        if let existing, existing != id {
            let chunks = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunk") ?? 0
            if chunks > 0 { throw StoreError.modelMismatch(stored: existing, requested: id) }
        }
        let stored = try String.fetchOne(db, sql: "SELECT value FROM kb_meta WHERE key = 'embedding_dimension'")
        if existing == id, let stored, stored != String(dimension),
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunk") ?? 0 > 0
        {
            throw StoreError.dimensionMismatch(expected: Int(stored) ?? 0, actual: dimension)
        }
        try setModel(db, id: id, dimension: dimension)
    }

    /// Switches the knowledge base to `model` (used by reindex once all chunks have its vectors).
    public func switchEmbeddingModel(id: String, dimension: Int) throws {
        try writer.write { db in
            try Self.setModel(db, id: id, dimension: dimension)
            // The previous model's vectors can no longer serve a query: free their space.
            try db.execute(sql: "DELETE FROM embedding WHERE model != ?", arguments: [id])
            try db.execute(sql: "DELETE FROM vector_pack WHERE model != ?", arguments: [id])
        }
    }

    static func setModel(_ db: Database, id: String, dimension: Int) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO kb_meta(key, value) VALUES ('embedding_model', ?), ('embedding_dimension', ?)",
            arguments: [id, String(dimension)])
    }

    // MARK: - Documents

    /// Fingerprints of the documents stored for `collection`, by document id.
    public func fingerprints(collection: String) throws -> [String: DocumentFingerprint] {
        try writer.read { db in
            var result: [String: DocumentFingerprint] = [:]
            let rows = try Row.fetchCursor(
                db, sql: "SELECT doc_id, source, content_hash, pipeline FROM document WHERE collection = ?",
                arguments: [collection])
            while let row = try rows.next() {
                let source: String = row["source"]
                let file = source.split(separator: "#", maxSplits: 1).first.map(String.init) ?? source
                result[row["doc_id"]] = DocumentFingerprint(
                    contentHash: row["content_hash"], pipeline: row["pipeline"], sourceFile: file)
            }
            return result
        }
    }

    /// Vectors already stored for `model`, for those of `textHashes` that have one.
    public func cachedVectors(model: String, textHashes: some Sequence<String>) throws -> [String: [Float]] {
        let hashes = Array(Set(textHashes))
        guard !hashes.isEmpty else { return [:] }
        return try writer.read { db in
            var found: [(hash: String, ref: VectorRef)] = []
            let statement = try db.cachedStatement(
                sql: "SELECT pack_id, slot FROM embedding WHERE model = ? AND text_hash = ?")
            for hash in hashes {
                if let row = try Row.fetchOne(statement, arguments: [model, hash]) {
                    found.append((hash, VectorRef(pack: row[0], slot: row[1])))
                }
            }
            guard !found.isEmpty else { return [:] }
            found.sort { $0.ref < $1.ref }
            let dimension =
                try Int.fetchOne(
                    db, sql: "SELECT dimension FROM vector_pack WHERE id = ?", arguments: [found[0].ref.pack]) ?? 0
            let vectors = try VectorPacking.vectors(db, refs: found.map(\.ref), dimension: dimension)
            return Dictionary(zip(found.map(\.hash), vectors), uniquingKeysWith: { a, _ in a })
        }
    }

    /// Replaces (or inserts) one document with its chunks and their vectors in one transaction.
    /// - Parameters:
    ///   - vectors: vectors for the chunks' text hashes under `model`; hashes already stored may be omitted.
    public func write(_ document: PreparedDocument, model: String, vectors: [String: [Float]]) throws {
        try writer.write { db in try Self.write(db, document, model: model, vectors: vectors) }
    }

    /// Writes one document inside the caller's transaction (see ``write(_:model:vectors:)``).
    static func write(_ db: Database, _ document: PreparedDocument, model: String, vectors: [String: [Float]]) throws {
        let replaced = try Self.deleteDocument(db, collection: document.collection, docID: document.parsed.docID)
        let metadata =
            (try? JSONEncoder().encode(document.parsed.metadata)).map { String(decoding: $0, as: UTF8.self) }
            ?? "{}"
        try db.execute(
            sql: """
                INSERT INTO document(collection, doc_id, source, title, format, content_hash, pipeline, metadata,
                                     byte_size, chunk_count, ingested_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                document.collection, document.parsed.docID, document.parsed.source, document.parsed.title,
                document.parsed.metadata["format"] ?? "", document.contentHash, document.pipeline, metadata,
                document.byteSize, document.chunks.count, ISO8601DateFormatter().string(from: Date()),
            ])
        let documentRowID = db.lastInsertedRowID
        for (chunk, hash) in zip(document.chunks, document.textHashes) {
            try db.execute(
                sql: """
                    INSERT INTO chunk(document_id, ordinal, heading, anchor, text, start_offset, end_offset,
                                      token_count, text_hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    documentRowID, chunk.ordinal, chunk.heading, chunk.anchor, chunk.text, chunk.startOffset,
                    chunk.endOffset, chunk.tokenCount, hash,
                ])
            let chunkID = db.lastInsertedRowID
            try db.execute(
                sql: "INSERT INTO chunk_fts(rowid, title, heading, body) VALUES (?, ?, ?, ?)",
                arguments: [chunkID, document.parsed.title, chunk.heading, chunk.text])
        }
        try VectorPacking.append(
            db, model: model, vectors: document.textHashes.compactMap { h in vectors[h].map { (h, $0) } })
        try VectorPacking.collectGarbage(db, textHashes: replaced ?? [])
    }

    /// Stores vectors for text hashes (reindex writes them in batches, resumably).
    public func storeVectors(_ vectors: [String: [Float]], model: String) throws {
        try writer.write { db in
            try VectorPacking.append(
                db, model: model, vectors: vectors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        }
    }

    /// Removes the given documents of `collection`, with their chunks and keyword rows.
    @discardableResult
    public func removeDocuments(collection: String, docIDs: some Sequence<String>) throws -> Int {
        try writer.write { db in try Self.removeDocuments(db, collection: collection, docIDs: docIDs) }
    }

    /// Removes documents inside the caller's transaction; returns how many existed.
    static func removeDocuments(_ db: Database, collection: String, docIDs: some Sequence<String>) throws -> Int {
        var removed = 0
        var hashes: [String] = []
        for docID in docIDs {
            if let gone = try deleteDocument(db, collection: collection, docID: docID) {
                removed += 1
                hashes += gone
            }
        }
        try VectorPacking.collectGarbage(db, textHashes: hashes)
        return removed
    }

    /// Deletes one document and its chunks; returns the removed chunks' text hashes (their vectors
    /// are garbage once no other chunk uses them), or nil when there was no such document.
    static func deleteDocument(_ db: Database, collection: String, docID: String) throws -> [String]? {
        let find = try db.cachedStatement(sql: "SELECT id FROM document WHERE collection = ? AND doc_id = ?")
        guard let id = try Int64.fetchOne(find, arguments: [collection, docID]) else { return nil }
        let hashes = try String.fetchAll(db, sql: "SELECT text_hash FROM chunk WHERE document_id = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM chunk WHERE document_id = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM document WHERE id = ?", arguments: [id])
        return hashes
    }

    // MARK: - Reading

    /// Chunks by id, joined with their documents, in the order of `ids` (unknown ids are skipped).
    public func chunks(ids: [Int64]) throws -> [StoredChunk] {
        guard !ids.isEmpty else { return [] }
        let byID = try writer.read { db in
            var result: [Int64: StoredChunk] = [:]
            for batch in stride(from: 0, to: ids.count, by: 500) {
                let slice = Array(ids[batch..<min(batch + 500, ids.count)])
                let marks = Array(repeating: "?", count: slice.count).joined(separator: ",")
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(StoredChunk.columns)
                        FROM chunk c JOIN document d ON d.id = c.document_id
                        WHERE c.id IN (\(marks))
                        """, arguments: StatementArguments(slice))
                for row in rows {
                    let chunk = StoredChunk(row: row)
                    result[chunk.chunkID] = chunk
                }
            }
            return result
        }
        return ids.compactMap { byID[$0] }
    }

    /// Text hashes of chunks that have no vector for `model` yet, with the text to embed.
    public func chunksMissingVectors(model: String, limit: Int) throws -> [(textHash: String, text: String)] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT c.text_hash, d.title, c.heading, c.text FROM chunk c
                    JOIN document d ON d.id = c.document_id
                    WHERE NOT EXISTS (SELECT 1 FROM embedding e WHERE e.model = ? AND e.text_hash = c.text_hash)
                    GROUP BY c.text_hash LIMIT ?
                    """, arguments: [model, limit]
            ).map { row in
                let heading: String = row["heading"]
                let path = heading.isEmpty ? [] : heading.components(separatedBy: " › ")
                return (
                    row["text_hash"],
                    ChunkDraft.embeddingText(title: row["title"], headingPath: path, text: row["text"])
                )
            }
        }
    }

    /// Number of distinct chunk texts without a vector for `model`.
    public func countChunksMissingVectors(model: String) throws -> Int {
        try writer.read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(DISTINCT c.text_hash) FROM chunk c
                    WHERE NOT EXISTS (SELECT 1 FROM embedding e WHERE e.model = ? AND e.text_hash = c.text_hash)
                    """, arguments: [model]) ?? 0
        }
    }

    /// Counts and sizes for `cascade stats`.
    public func stats() throws -> KnowledgeBaseStats {
        let model = try embeddingModel()
        var stats = try writer.read { db in
            let documents = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM document") ?? 0
            let chunks = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunk") ?? 0
            let vectors =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM embedding WHERE model = ?", arguments: [model?.id ?? ""]) ?? 0
            let missing =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FROM chunk c WHERE NOT EXISTS
                        (SELECT 1 FROM embedding e WHERE e.model = ? AND e.text_hash = c.text_hash)
                        """, arguments: [model?.id ?? ""]) ?? 0
            let collections = try String.fetchAll(db, sql: "SELECT DISTINCT collection FROM document ORDER BY 1")
            let textBytes =
                try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(LENGTH(CAST(text AS BLOB))), 0) FROM chunk") ?? 0
            let vectorBytes =
                try Int64.fetchOne(
                    db,
                    sql:
                        "SELECT COALESCE(SUM((row_count - dead_rows) * dimension * 4), 0) FROM vector_pack WHERE model = ?",
                    arguments: [model?.id ?? ""]) ?? 0
            let migrations = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
            return KnowledgeBaseStats(
                documents: documents, chunks: chunks, vectors: vectors, chunksWithoutVector: missing,
                collections: collections, embeddingModel: model?.id, dimension: model?.dimension, fileBytes: 0,
                textBytes: textBytes, vectorBytes: vectorBytes, schemaVersion: migrations.last ?? "none")
        }
        for suffix in ["", "-wal", "-shm"] {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + suffix)
            stats.fileBytes += (attributes?[.size] as? NSNumber)?.int64Value ?? 0
        }
        return stats
    }
}
