import Foundation
import GRDB

extension KnowledgeBaseStore {
    /// The whole knowledge base as one change (every document with its chunks and vectors), to
    /// move it to another store or seed a shared log; nil while it has no documents.
    public func exportRecord() throws -> KnowledgeBaseLogRecord? {
        try exportRecords(maxDocuments: Int.max).first
    }

    /// The whole knowledge base as changes of at most `maxDocuments` documents each (an import
    /// of many documents into a shared log: each change stays a size a node replays at once).
    public func exportRecords(maxDocuments: Int) throws -> [KnowledgeBaseLogRecord] {
        guard let model = try embeddingModel() else { return [] }
        let documents = try writer.read { db -> [KnowledgeBaseLogRecord.Document] in
            var documents: [Int64: KnowledgeBaseLogRecord.Document] = [:]
            var order: [Int64] = []
            for row in try Row.fetchAll(db, sql: "SELECT * FROM document ORDER BY id") {
                let id: Int64 = row["id"]
                let metadata = (row["metadata"] as String?).flatMap {
                    try? JSONDecoder().decode([String: String].self, from: Data($0.utf8))
                }
                documents[id] = KnowledgeBaseLogRecord.Document(
                    collection: row["collection"], docID: row["doc_id"], source: row["source"], title: row["title"],
                    metadata: metadata ?? [:], contentHash: row["content_hash"], pipeline: row["pipeline"],
                    byteSize: row["byte_size"], chunks: [])
                order.append(id)
            }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM chunk ORDER BY document_id, ordinal") {
                let heading: String = row["heading"]
                documents[row["document_id"] as Int64]?.chunks.append(
                    KnowledgeBaseLogRecord.Chunk(
                        ordinal: row["ordinal"],
                        headingPath: heading.isEmpty ? [] : heading.components(separatedBy: " › "),
                        anchor: row["anchor"], text: row["text"], startOffset: row["start_offset"],
                        endOffset: row["end_offset"], tokenCount: row["token_count"], textHash: row["text_hash"]))
            }
            return order.compactMap { documents[$0] }
        }
        var records: [KnowledgeBaseLogRecord] = []
        for start in stride(from: 0, to: documents.count, by: max(1, maxDocuments)) {
            let end = documents.count - start <= maxDocuments ? documents.count : start + maxDocuments
            let group = Array(documents[start..<end])
            let hashes = Set(group.flatMap { $0.chunks.map(\.textHash) })
            let vectors = try cachedVectors(model: model.id, textHashes: hashes)
            guard vectors.count == hashes.count else {
                throw StoreError.corrupted(
                    table: "embedding", row: 0, reason: "\(hashes.count - vectors.count) chunk(s) have no vector")
            }
            var record = KnowledgeBaseLogRecord(model: model.id, dimension: model.dimension, writes: group)
            record.vectors = vectors.mapValues(VectorBlob.encode)
            records.append(record)
        }
        return records
    }
}

extension KnowledgeBaseStore {
    /// The whole knowledge base as one snapshot record of the shared log it is a replay of, as of
    /// the version it holds; nil while it has no documents.
    public func snapshotRecord() throws -> KnowledgeBaseLogRecord? {
        let version = try logVersion()
        guard version > 0, var record = try exportRecord() else { return nil }
        record.format = KnowledgeBaseLogRecord.snapshotFormat
        record.baseVersion = version
        return record
    }
}

extension KnowledgeBaseLogRecord {
    init(model: String, dimension: Int, writes: [Document]) {
        self.model = model
        self.dimension = dimension
        self.writes = writes
        self.removals = []
        self.vectors = [:]
    }
}
