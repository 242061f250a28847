import GRDB

extension KnowledgeBaseStore {
    /// The chunks of the document stored under `source`, in reading order, so a client that holds
    /// a citation (`source#anchor`) can read the whole document or the cited section.
    ///
    /// Sources are unique per collection, not across collections, so every document with that
    /// source is returned, grouped by document and in order within each.
    /// - Parameter limit: at most this many chunks (a bound on a huge document's response).
    public func chunks(source: String, limit: Int = 10_000) throws -> [StoredChunk] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(StoredChunk.columns)
                    FROM document d JOIN chunk c ON c.document_id = d.id
                    WHERE d.source = ?
                    ORDER BY d.id, c.ordinal
                    LIMIT ?
                    """, arguments: [source, limit]
            ).map(StoredChunk.init(row:))
        }
    }

    /// The first `count` chunks of each document, in reading order: a page's opening says what it
    /// is for, which a question about the page's subject is usually asking (the RAG tier quotes
    /// from it when the retrieved chunk of a cited page is a signature, a diagram or a link list).
    /// Documents are identified by collection and id; unknown ones are skipped.
    public func openingChunks(of documents: [(collection: String, docID: String)], count: Int) throws
        -> [StoredChunk]
    {
        guard count > 0, !documents.isEmpty else { return [] }
        return try writer.read { db in
            var chunks: [StoredChunk] = []
            let statement = try db.cachedStatement(
                sql: """
                    SELECT \(StoredChunk.columns)
                    FROM document d JOIN chunk c ON c.document_id = d.id
                    WHERE d.collection = ? AND d.doc_id = ?
                    ORDER BY c.ordinal
                    LIMIT ?
                    """)
            for document in documents {
                let rows = try Row.fetchAll(statement, arguments: [document.collection, document.docID, count])
                chunks += rows.map(StoredChunk.init(row:))
            }
            return chunks
        }
    }

    /// The chunk after each of `chunkIDs` in its document's reading order, keyed by the id it
    /// follows (a document's last chunk, or an unknown id, has none): a quote that ends by
    /// introducing an example whose text the chunker put in the next chunk reads it there.
    public func followingChunks(of chunkIDs: [Int64]) throws -> [Int64: StoredChunk] {
        guard !chunkIDs.isEmpty else { return [:] }
        return try writer.read { db in
            var following: [Int64: StoredChunk] = [:]
            let statement = try db.cachedStatement(
                sql: """
                    SELECT \(StoredChunk.columns)
                    FROM chunk p JOIN chunk c ON c.document_id = p.document_id AND c.ordinal = p.ordinal + 1
                    JOIN document d ON d.id = c.document_id
                    WHERE p.id = ?
                    """)
            for id in Set(chunkIDs) {
                if let row = try Row.fetchOne(statement, arguments: [id]) { following[id] = StoredChunk(row: row) }
            }
            return following
        }
    }
}

extension KnowledgeBaseStore {
    /// What each of `documents` marks as code (``CodeTerms``), for those that mark any: the RAG
    /// tier prefers a sentence naming one the question does not. One indexed lookup per document.
    public func codeTerms(of documents: [DocumentKey]) throws -> [DocumentKey: CodeTermSet] {
        guard !documents.isEmpty else { return [:] }
        return try writer.read { db in
            var found: [DocumentKey: CodeTermSet] = [:]
            let statement = try db.cachedStatement(
                sql:
                    "SELECT json_extract(metadata, '$.\(CodeTerms.metadataKey)') FROM document WHERE collection = ? AND doc_id = ?"
            )
            for document in Set(documents) {
                guard
                    let value = try String?.fetchOne(statement, arguments: [document.collection, document.docID])
                        ?? nil,
                    !value.isEmpty
                else { continue }
                found[document] = CodeTermSet(CodeTerms.decode([CodeTerms.metadataKey: value]))
            }
            return found
        }
    }
}

extension StoredChunk {
    /// The columns ``init(row:)`` reads, from `chunk c` joined with `document d`.
    static let columns =
        "c.id, c.heading, c.anchor, c.text, c.start_offset, c.end_offset, d.doc_id, d.collection, d.source, d.title"

    /// A chunk from a row selecting ``columns``.
    init(row: Row) {
        self.init(
            chunkID: row["id"], docID: row["doc_id"], collection: row["collection"], source: row["source"],
            title: row["title"], heading: row["heading"], anchor: row["anchor"], text: row["text"],
            startOffset: row["start_offset"], endOffset: row["end_offset"])
    }
}
