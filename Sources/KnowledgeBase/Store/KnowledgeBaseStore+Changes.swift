import Foundation
import GRDB

/// Documents to add, replace and remove in one step (a service's ingest job, a delete request).
public struct KnowledgeBaseChanges: Sendable {
    /// Documents to insert, replacing any with the same collection and id.
    public var writes: [PreparedDocument]
    /// Documents to remove, by collection and id.
    public var removals: [DocumentKey]

    public init(writes: [PreparedDocument] = [], removals: [DocumentKey] = []) {
        self.writes = writes
        self.removals = removals
    }
}

/// A document's identity inside a knowledge base.
public struct DocumentKey: Hashable, Sendable {
    public var collection: String
    public var docID: String

    public init(collection: String, docID: String) {
        self.collection = collection
        self.docID = docID
    }
}

/// What ``KnowledgeBaseStore/apply(_:model:dimension:vectors:publish:)`` did.
public struct AppliedChanges: Hashable, Sendable {
    public var documentsWritten: Int
    public var documentsRemoved: Int
    public var chunksWritten: Int
}

extension KnowledgeBaseStore {
    /// Applies `changes` in one transaction and builds the vector index of the result inside that
    /// transaction, then hands the index to `publish` together with the commit.
    ///
    /// `publish(index, commit)` must call `commit()`; whatever it does around the call (take an
    /// exclusive lock, swap the index that searches use, release the lock) runs on the same thread
    /// as the commit. A server that does so makes the new documents and their index visible at the
    /// same instant: a search sees either all of the job or none of it. If `publish` throws before
    /// committing, nothing is written.
    /// - Parameters:
    ///   - vectors: vectors for the written chunks' text hashes; hashes already stored may be omitted.
    /// - Throws: ``StoreError/modelMismatch(stored:requested:)`` when the store holds another model's
    ///   vectors, database errors, or what `publish` throws.
    @discardableResult
    public func apply(
        _ changes: KnowledgeBaseChanges, model: String, dimension: Int, vectors: [String: [Float]],
        logVersion: Int64? = nil, publish: (ChunkVectorIndex, () throws -> Void) throws -> Void
    ) throws -> AppliedChanges {
        try writer.writeWithoutTransaction { db in
            try db.beginTransaction(.immediate)
            do {
                try Self.claimModel(db, id: model, dimension: dimension)
                var removed = 0
                for key in changes.removals {
                    removed += try Self.removeDocuments(db, collection: key.collection, docIDs: [key.docID])
                }
                for document in changes.writes { try Self.write(db, document, model: model, vectors: vectors) }
                try commit(db, model: model, dimension: dimension, logVersion: logVersion, publish: publish)
                return AppliedChanges(
                    documentsWritten: changes.writes.count, documentsRemoved: removed,
                    chunksWritten: changes.writes.reduce(0) { $0 + $1.chunks.count })
            } catch {
                if db.isInsideTransaction { try? db.rollback() }
                throw error
            }
        }
    }

    /// Records `logVersion` (with the change itself: after a crash the store says exactly which
    /// shared change it holds last, and replay resumes after it), builds the index of the result
    /// inside the open transaction and hands it to `publish` together with the commit.
    func commit(
        _ db: Database, model: String, dimension: Int, logVersion: Int64?,
        publish: (ChunkVectorIndex, () throws -> Void) throws -> Void
    ) throws {
        if let logVersion {
            try db.execute(
                sql: "INSERT OR REPLACE INTO kb_meta(key, value) VALUES ('log_version', ?)",
                arguments: [String(logVersion)])
        }
        let index = try Self.loadVectorIndex(db, model: model, dimension: dimension)
        var committed = false
        try publish(index) {
            try db.commit()
            committed = true
        }
        guard committed else { throw StoreError.cannotOpen(path: path, reason: "changes were not committed") }
    }

    /// The last change of the shared log this store holds (0 when none).
    public func logVersion() throws -> Int64 {
        try writer.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM kb_meta WHERE key = 'log_version'").flatMap { Int64($0) }
                ?? 0
        }
    }

    /// Documents of the store, newest first, for listings.
    /// - Parameter collection: only this collection when given.
    public func documents(collection: String? = nil, limit: Int = 1000, offset: Int = 0) throws -> [StoredDocument] {
        try writer.read { db in
            var sql = """
                SELECT collection, doc_id, source, title, format, byte_size, chunk_count, ingested_at FROM document
                """
            var arguments: [any DatabaseValueConvertible] = []
            if let collection {
                sql += " WHERE collection = ?"
                arguments.append(collection)
            }
            sql += " ORDER BY id DESC LIMIT ? OFFSET ?"
            arguments += [limit, offset]
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(
                StoredDocument.init(row:))
        }
    }

    /// The document with this id in any collection, if there is exactly one.
    public func document(docID: String) throws -> [StoredDocument] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT collection, doc_id, source, title, format, byte_size, chunk_count, ingested_at
                    FROM document WHERE doc_id = ?
                    """, arguments: [docID]
            ).map(StoredDocument.init(row:))
        }
    }
}

/// One document as listed by the service.
public struct StoredDocument: Hashable, Sendable {
    public var collection: String
    public var docID: String
    public var source: String
    public var title: String
    public var format: String
    public var byteSize: Int
    public var chunkCount: Int
    /// ISO 8601 UTC, as written at ingest.
    public var ingestedAt: String

    init(row: Row) {
        collection = row["collection"]
        docID = row["doc_id"]
        source = row["source"]
        title = row["title"]
        format = row["format"]
        byteSize = row["byte_size"]
        chunkCount = row["chunk_count"]
        ingestedAt = row["ingested_at"]
    }
}
