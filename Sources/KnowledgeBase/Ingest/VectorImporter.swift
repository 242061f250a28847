import Foundation
import GRDB
import VectorSearch

/// Imports precomputed vectors: a BEIR-style corpus (`_id`, `title`, `text` per line) and a
/// `.npy` float32 matrix whose row `i` is the vector of corpus line `i`.
///
/// For teams that embed elsewhere (a GPU box, a hosted API) and only want cascade to store and
/// serve. Each line becomes one document with one chunk (no re-chunking: the vector belongs to
/// the whole passage). Rows are written in transactions of ``batchSize`` documents, so an
/// interrupted import keeps what was committed and a re-run replaces documents by `_id`.
public struct VectorImporter: Sendable {
    public let store: KnowledgeBaseStore
    public var batchSize = 8192

    public init(store: KnowledgeBaseStore) {
        self.store = store
    }

    public struct Report: Sendable, Equatable {
        public var documents = 0
        public var vectors = 0
        public var seconds = 0.0
    }

    /// Imports `corpus` with `vectors` under `model` into `collection`.
    /// - Throws: ``IngestError/malformed(source:line:reason:)`` for a bad corpus line (nothing of
    ///   its batch is written), ``StoreError`` when the store holds another model or dimension.
    public func importVectors(
        corpus: URL, vectors: URL, model: String, collection: String,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> Report {
        let start = Date()
        let matrix = try NPYMatrix(contentsOf: vectors)
        guard let data = try? Data(contentsOf: corpus) else {
            throw IngestError.unreadable(source: corpus.path, reason: "cannot read the corpus file")
        }
        var lines: [Substring] = []
        lines.reserveCapacity(matrix.rowCount)
        for line in String(decoding: LineEndings.normalized([UInt8](data)), as: UTF8.self).split(separator: "\n")
        where !line.allSatisfy(\.isWhitespace) {
            lines.append(line)
        }
        guard lines.count == matrix.rowCount else {
            throw IngestError.malformed(
                source: corpus.lastPathComponent, line: nil,
                reason: "\(lines.count) corpus lines but \(matrix.rowCount) vectors in \(vectors.lastPathComponent); "
                    + "row i of the matrix must be the vector of line i")
        }
        // Every value must be finite: one Inf or NaN wins or breaks every search (Inf scores +∞ against
        // any query; NaN poisons the int8 codes). Checked before anything is written.
        if let bad = matrix.firstNonFinite() {
            throw IngestError.malformed(
                source: vectors.lastPathComponent, line: nil,
                reason: "row \(bad.row) has a non-finite value (NaN or infinity) in column \(bad.column)")
        }
        if let zero = matrix.firstZeroRow() {
            throw IngestError.malformed(
                source: vectors.lastPathComponent, line: nil,
                reason: "row \(zero) is all zeros; every vector needs a direction")
        }
        try store.claimEmbeddingModel(id: model, dimension: matrix.dimension)

        struct Line: Decodable {
            var _id: String?
            var title: String?
            var text: String?
        }
        let pipeline = "import/\(model)"
        let source = corpus.lastPathComponent
        let now = ISO8601DateFormatter().string(from: Date())
        var report = Report()
        let decoder = JSONDecoder()
        try store.writer.write { db in
            // Index pages of random text hashes are touched all over: keep them in memory.
            try db.execute(sql: "PRAGMA cache_size = -262144")
            // Checkpoint every 64 MB of WAL instead of 4 MB: pages rewritten by consecutive
            // batches (index and keyword pages) are copied to the database once, not per batch.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 16384")
        }
        for batchStart in stride(from: 0, to: lines.count, by: batchSize) {
            let batchEnd = min(batchStart + batchSize, lines.count)
            var rows: [(id: String, title: String, text: String, hash: String)] = []
            rows.reserveCapacity(batchEnd - batchStart)
            for i in batchStart..<batchEnd {
                guard let line = try? decoder.decode(Line.self, from: Data(lines[i].utf8)),
                    let id = line._id, !id.isEmpty
                else {
                    throw IngestError.malformed(
                        source: source, line: i + 1, reason: "not a JSON object with \"_id\"")
                }
                let title = line.title ?? "", text = line.text ?? ""
                let embeddingText = ChunkDraft.embeddingText(title: title, headingPath: [], text: text)
                rows.append((id, title.isEmpty ? id : title, text, SHA256.hex(embeddingText)))
            }
            try store.writer.write { db in
                var replaced: [String] = []
                var insertDocument = try RawStatement(
                    db.cachedStatement(
                        sql: """
                            INSERT INTO document(collection, doc_id, source, title, format, content_hash, pipeline, metadata,
                                                 byte_size, chunk_count, ingested_at)
                            VALUES (?, ?, ?, ?, 'beir', ?, ?, '{"format":"beir"}', ?, 1, ?)
                            """))
                var insertChunk = try RawStatement(
                    db.cachedStatement(
                        sql: """
                            INSERT INTO chunk(document_id, ordinal, heading, anchor, text, start_offset, end_offset,
                                              token_count, text_hash)
                            VALUES (?, 0, '', NULL, ?, 0, ?, 0, ?)
                            """))
                var insertKeywords = try RawStatement(
                    db.cachedStatement(sql: "INSERT INTO chunk_fts(rowid, title, heading, body) VALUES (?, ?, '', ?)"))
                for row in rows {
                    if let gone = try KnowledgeBaseStore.deleteDocument(db, collection: collection, docID: row.id) {
                        replaced += gone
                    }
                    for text in [collection, row.id, "\(source)#\(row.id)", row.title, row.hash, pipeline] {
                        insertDocument.bind(text)
                    }
                    insertDocument.bind(row.text.utf8.count)
                    insertDocument.bind(now)
                    try insertDocument.step(db)
                    insertChunk.bind(db.lastInsertedRowID)
                    insertChunk.bind(row.text)
                    insertChunk.bind(row.text.unicodeScalars.count)
                    insertChunk.bind(row.hash)
                    try insertChunk.step(db)
                    insertKeywords.bind(db.lastInsertedRowID)
                    insertKeywords.bind(row.title)
                    insertKeywords.bind(row.text)
                    try insertKeywords.step(db)
                }
                try matrix.withRows(batchStart..<batchEnd) { packed in
                    try VectorPacking.append(
                        db, model: model,
                        vectors: rows.enumerated().lazy.map { i, row in
                            // Stored unit-length like every embedder's, so scores are cosines in
                            // [-1, 1] and one outside it means damage (see vectorSearch).
                            var vector = Array(packed[i * matrix.dimension..<(i + 1) * matrix.dimension])
                            VectorMath.normalize(&vector)
                            return (row.hash, vector)
                        })
                }
                try VectorPacking.collectGarbage(db, textHashes: replaced)
            }
            report.documents += rows.count
            progress?(batchEnd, lines.count)
        }
        try store.writer.write { db in
            // Back to SQLite's defaults for whatever this connection does next.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 1000; PRAGMA cache_size = -2000")
        }
        // Move what the import left in the WAL into the database file now, so readers get
        // memory-mapped pages instead of looking each page up in a large WAL.
        store.writer.writeWithoutTransaction { db in
            _ = try? db.checkpoint(.passive)
        }
        report.vectors = try store.writer.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COALESCE(SUM(row_count - dead_rows), 0) FROM vector_pack WHERE model = ?",
                arguments: [model]) ?? 0
        }
        report.seconds = Date().timeIntervalSince(start)
        return report
    }
}
